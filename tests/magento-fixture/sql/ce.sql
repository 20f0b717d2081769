-- Magento 2.4 Open Source (CE) tables that ficus reads or writes, written by the ficus project from
-- the facts in shared/reference/magento-schema.md (names, column types, nullability, defaults,
-- primary/unique keys, foreign keys). Statements are separated by a line ending in ';'.
-- Charset and engine as Magento 2.4.6 creates them.

CREATE TABLE eav_entity_type (
  entity_type_id smallint unsigned NOT NULL AUTO_INCREMENT,
  entity_type_code varchar(50) NOT NULL,
  entity_model varchar(255) NOT NULL,
  attribute_model varchar(255) DEFAULT NULL,
  entity_table varchar(255) DEFAULT NULL,
  value_table_prefix varchar(255) DEFAULT NULL,
  entity_id_field varchar(255) DEFAULT NULL,
  is_data_sharing smallint unsigned NOT NULL DEFAULT 1,
  data_sharing_key varchar(100) DEFAULT 'default',
  default_attribute_set_id smallint unsigned NOT NULL DEFAULT 0,
  increment_model varchar(255) DEFAULT NULL,
  increment_per_store smallint unsigned NOT NULL DEFAULT 0,
  increment_pad_length smallint unsigned NOT NULL DEFAULT 8,
  increment_pad_char varchar(1) NOT NULL DEFAULT '0',
  additional_attribute_table varchar(255) DEFAULT NULL,
  entity_attribute_collection varchar(255) DEFAULT NULL,
  PRIMARY KEY (entity_type_id),
  KEY EAV_ENTITY_TYPE_ENTITY_TYPE_CODE (entity_type_code)
);

CREATE TABLE eav_attribute (
  attribute_id smallint unsigned NOT NULL AUTO_INCREMENT,
  entity_type_id smallint unsigned NOT NULL DEFAULT 0,
  attribute_code varchar(255) NOT NULL,
  attribute_model varchar(255) DEFAULT NULL,
  backend_model varchar(255) DEFAULT NULL,
  backend_type varchar(8) NOT NULL DEFAULT 'static',
  backend_table varchar(255) DEFAULT NULL,
  frontend_model varchar(255) DEFAULT NULL,
  frontend_input varchar(50) DEFAULT NULL,
  frontend_label varchar(255) DEFAULT NULL,
  frontend_class varchar(255) DEFAULT NULL,
  source_model varchar(255) DEFAULT NULL,
  is_required smallint unsigned NOT NULL DEFAULT 0,
  is_user_defined smallint unsigned NOT NULL DEFAULT 0,
  default_value text DEFAULT NULL,
  is_unique smallint unsigned NOT NULL DEFAULT 0,
  note varchar(255) DEFAULT NULL,
  PRIMARY KEY (attribute_id),
  UNIQUE KEY EAV_ATTRIBUTE_ENTITY_TYPE_ID_ATTRIBUTE_CODE (entity_type_id, attribute_code),
  KEY EAV_ATTRIBUTE_FRONTEND_INPUT_ENTITY_TYPE_ID_IS_USER_DEFINED (frontend_input, entity_type_id, is_user_defined),
  CONSTRAINT EAV_ATTRIBUTE_ENTITY_TYPE_ID_EAV_ENTITY_TYPE_ENTITY_TYPE_ID FOREIGN KEY (entity_type_id) REFERENCES eav_entity_type (entity_type_id) ON DELETE CASCADE
);

CREATE TABLE catalog_eav_attribute (
  attribute_id smallint unsigned NOT NULL,
  frontend_input_renderer varchar(255) DEFAULT NULL,
  is_global smallint unsigned NOT NULL DEFAULT 1,
  is_visible smallint unsigned NOT NULL DEFAULT 1,
  is_searchable smallint unsigned NOT NULL DEFAULT 0,
  is_filterable smallint unsigned NOT NULL DEFAULT 0,
  is_comparable smallint unsigned NOT NULL DEFAULT 0,
  is_visible_on_front smallint unsigned NOT NULL DEFAULT 0,
  is_html_allowed_on_front smallint unsigned NOT NULL DEFAULT 0,
  is_used_for_price_rules smallint unsigned NOT NULL DEFAULT 0,
  is_filterable_in_search smallint unsigned NOT NULL DEFAULT 0,
  used_in_product_listing smallint unsigned NOT NULL DEFAULT 0,
  used_for_sort_by smallint unsigned NOT NULL DEFAULT 0,
  apply_to varchar(255) DEFAULT NULL,
  is_visible_in_advanced_search smallint unsigned NOT NULL DEFAULT 0,
  position int NOT NULL DEFAULT 0,
  is_wysiwyg_enabled smallint unsigned NOT NULL DEFAULT 0,
  is_used_for_promo_rules smallint unsigned NOT NULL DEFAULT 0,
  is_required_in_admin_store smallint unsigned NOT NULL DEFAULT 0,
  is_used_in_grid smallint unsigned NOT NULL DEFAULT 0,
  is_visible_in_grid smallint unsigned NOT NULL DEFAULT 0,
  is_filterable_in_grid smallint unsigned NOT NULL DEFAULT 0,
  search_weight float NOT NULL DEFAULT 1,
  additional_data text DEFAULT NULL,
  is_pagebuilder_enabled smallint unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (attribute_id),
  KEY CATALOG_EAV_ATTRIBUTE_USED_FOR_SORT_BY (used_for_sort_by),
  KEY CATALOG_EAV_ATTRIBUTE_USED_IN_PRODUCT_LISTING (used_in_product_listing),
  CONSTRAINT CATALOG_EAV_ATTRIBUTE_ATTRIBUTE_ID_EAV_ATTRIBUTE_ATTRIBUTE_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE
);

CREATE TABLE customer_eav_attribute (
  attribute_id smallint unsigned NOT NULL,
  is_visible smallint unsigned NOT NULL DEFAULT 1,
  input_filter varchar(255) DEFAULT NULL,
  multiline_count smallint unsigned NOT NULL DEFAULT 1,
  validate_rules text DEFAULT NULL,
  is_system smallint unsigned NOT NULL DEFAULT 0,
  sort_order int unsigned NOT NULL DEFAULT 0,
  data_model varchar(255) DEFAULT NULL,
  is_used_in_grid smallint unsigned NOT NULL DEFAULT 0,
  is_visible_in_grid smallint unsigned NOT NULL DEFAULT 0,
  is_filterable_in_grid smallint unsigned NOT NULL DEFAULT 0,
  is_searchable_in_grid smallint unsigned NOT NULL DEFAULT 0,
  grid_filter_condition_type smallint unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (attribute_id),
  KEY CUSTOMER_EAV_ATTRIBUTE_SORT_ORDER (sort_order),
  CONSTRAINT CUSTOMER_EAV_ATTRIBUTE_ATTRIBUTE_ID_EAV_ATTRIBUTE_ATTRIBUTE_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE
);

CREATE TABLE eav_attribute_set (
  attribute_set_id smallint unsigned NOT NULL AUTO_INCREMENT,
  entity_type_id smallint unsigned NOT NULL DEFAULT 0,
  attribute_set_name varchar(255) DEFAULT NULL,
  sort_order smallint NOT NULL DEFAULT 0,
  PRIMARY KEY (attribute_set_id),
  UNIQUE KEY EAV_ATTRIBUTE_SET_ENTITY_TYPE_ID_ATTRIBUTE_SET_NAME (entity_type_id, attribute_set_name),
  KEY EAV_ATTRIBUTE_SET_ENTITY_TYPE_ID_SORT_ORDER (entity_type_id, sort_order),
  CONSTRAINT EAV_ATTRIBUTE_SET_ENTITY_TYPE_ID_EAV_ENTITY_TYPE_ENTITY_TYPE_ID FOREIGN KEY (entity_type_id) REFERENCES eav_entity_type (entity_type_id) ON DELETE CASCADE
);

CREATE TABLE eav_attribute_group (
  attribute_group_id smallint unsigned NOT NULL AUTO_INCREMENT,
  attribute_set_id smallint unsigned NOT NULL DEFAULT 0,
  attribute_group_name varchar(255) DEFAULT NULL,
  sort_order smallint NOT NULL DEFAULT 0,
  default_id smallint unsigned DEFAULT 0,
  attribute_group_code varchar(255) NOT NULL,
  tab_group_code varchar(255) DEFAULT NULL,
  PRIMARY KEY (attribute_group_id),
  UNIQUE KEY EAV_ATTRIBUTE_GROUP_ATTRIBUTE_SET_ID_ATTRIBUTE_GROUP_NAME (attribute_set_id, attribute_group_name),
  UNIQUE KEY EAV_ATTRIBUTE_GROUP_ATTRIBUTE_SET_ID_ATTRIBUTE_GROUP_CODE (attribute_set_id, attribute_group_code),
  KEY EAV_ATTRIBUTE_GROUP_ATTRIBUTE_SET_ID_SORT_ORDER (attribute_set_id, sort_order),
  CONSTRAINT EAV_ATTR_GROUP_ATTR_SET_ID_EAV_ATTR_SET_ATTR_SET_ID FOREIGN KEY (attribute_set_id) REFERENCES eav_attribute_set (attribute_set_id) ON DELETE CASCADE
);

CREATE TABLE eav_entity_attribute (
  entity_attribute_id int unsigned NOT NULL AUTO_INCREMENT,
  entity_type_id smallint unsigned NOT NULL DEFAULT 0,
  attribute_set_id smallint unsigned NOT NULL DEFAULT 0,
  attribute_group_id smallint unsigned NOT NULL DEFAULT 0,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  sort_order smallint NOT NULL DEFAULT 0,
  PRIMARY KEY (entity_attribute_id),
  UNIQUE KEY EAV_ENTITY_ATTRIBUTE_ATTRIBUTE_SET_ID_ATTRIBUTE_ID (attribute_set_id, attribute_id),
  UNIQUE KEY EAV_ENTITY_ATTRIBUTE_ATTRIBUTE_GROUP_ID_ATTRIBUTE_ID (attribute_group_id, attribute_id),
  KEY EAV_ENTITY_ATTRIBUTE_ATTRIBUTE_SET_ID_SORT_ORDER (attribute_set_id, sort_order),
  KEY EAV_ENTITY_ATTRIBUTE_ATTRIBUTE_ID (attribute_id),
  CONSTRAINT EAV_ENTITY_ATTRIBUTE_ATTRIBUTE_ID_EAV_ATTRIBUTE_ATTRIBUTE_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT EAV_ENTT_ATTR_ATTR_GROUP_ID_EAV_ATTR_GROUP_ATTR_GROUP_ID FOREIGN KEY (attribute_group_id) REFERENCES eav_attribute_group (attribute_group_id) ON DELETE CASCADE
);

CREATE TABLE eav_attribute_option (
  option_id int unsigned NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  sort_order smallint unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (option_id),
  KEY EAV_ATTRIBUTE_OPTION_ATTRIBUTE_ID (attribute_id),
  CONSTRAINT EAV_ATTRIBUTE_OPTION_ATTRIBUTE_ID_EAV_ATTRIBUTE_ATTRIBUTE_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE
);

-- 2.4.6: primary key only. Data migrated from Magento 1 often holds duplicate (option_id, store_id)
-- rows; 2.4.8 adds UNIQUE(store_id, option_id).
CREATE TABLE eav_attribute_option_value (
  value_id int unsigned NOT NULL AUTO_INCREMENT,
  option_id int unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  value varchar(255) DEFAULT NULL,
  PRIMARY KEY (value_id),
  KEY EAV_ATTRIBUTE_OPTION_VALUE_OPTION_ID (option_id),
  KEY EAV_ATTRIBUTE_OPTION_VALUE_STORE_ID (store_id),
  CONSTRAINT EAV_ATTR_OPT_VAL_OPT_ID_EAV_ATTR_OPT_OPT_ID FOREIGN KEY (option_id) REFERENCES eav_attribute_option (option_id) ON DELETE CASCADE,
  CONSTRAINT EAV_ATTRIBUTE_OPTION_VALUE_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE eav_attribute_label (
  attribute_label_id int unsigned NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  value varchar(255) DEFAULT NULL,
  PRIMARY KEY (attribute_label_id),
  KEY EAV_ATTRIBUTE_LABEL_STORE_ID (store_id),
  KEY EAV_ATTRIBUTE_LABEL_ATTRIBUTE_ID_STORE_ID (attribute_id, store_id),
  CONSTRAINT EAV_ATTRIBUTE_LABEL_ATTRIBUTE_ID_EAV_ATTRIBUTE_ATTRIBUTE_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT EAV_ATTRIBUTE_LABEL_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE store_website (
  website_id smallint unsigned NOT NULL AUTO_INCREMENT,
  code varchar(32) DEFAULT NULL,
  name varchar(64) DEFAULT NULL,
  sort_order smallint unsigned NOT NULL DEFAULT 0,
  default_group_id smallint unsigned NOT NULL DEFAULT 0,
  is_default smallint unsigned DEFAULT 0,
  PRIMARY KEY (website_id),
  UNIQUE KEY STORE_WEBSITE_CODE (code),
  KEY STORE_WEBSITE_SORT_ORDER (sort_order),
  KEY STORE_WEBSITE_DEFAULT_GROUP_ID (default_group_id)
);

CREATE TABLE store_group (
  group_id smallint unsigned NOT NULL AUTO_INCREMENT,
  website_id smallint unsigned NOT NULL DEFAULT 0,
  name varchar(255) NOT NULL,
  root_category_id int unsigned NOT NULL DEFAULT 0,
  default_store_id smallint unsigned NOT NULL DEFAULT 0,
  code varchar(32) DEFAULT NULL,
  PRIMARY KEY (group_id),
  UNIQUE KEY STORE_GROUP_CODE (code),
  KEY STORE_GROUP_WEBSITE_ID (website_id),
  KEY STORE_GROUP_DEFAULT_STORE_ID (default_store_id),
  CONSTRAINT STORE_GROUP_WEBSITE_ID_STORE_WEBSITE_WEBSITE_ID FOREIGN KEY (website_id) REFERENCES store_website (website_id) ON DELETE CASCADE
);

CREATE TABLE store (
  store_id smallint unsigned NOT NULL AUTO_INCREMENT,
  code varchar(32) DEFAULT NULL,
  website_id smallint unsigned NOT NULL DEFAULT 0,
  group_id smallint unsigned NOT NULL DEFAULT 0,
  name varchar(255) NOT NULL,
  sort_order smallint unsigned NOT NULL DEFAULT 0,
  is_active smallint unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (store_id),
  UNIQUE KEY STORE_CODE (code),
  KEY STORE_WEBSITE_ID (website_id),
  KEY STORE_IS_ACTIVE_SORT_ORDER (is_active, sort_order),
  KEY STORE_GROUP_ID (group_id),
  CONSTRAINT STORE_GROUP_ID_STORE_GROUP_GROUP_ID FOREIGN KEY (group_id) REFERENCES store_group (group_id) ON DELETE CASCADE,
  CONSTRAINT STORE_WEBSITE_ID_STORE_WEBSITE_WEBSITE_ID FOREIGN KEY (website_id) REFERENCES store_website (website_id) ON DELETE CASCADE
);

CREATE TABLE core_config_data (
  config_id int unsigned NOT NULL AUTO_INCREMENT,
  scope varchar(8) NOT NULL DEFAULT 'default',
  scope_id int NOT NULL DEFAULT 0,
  path varchar(255) NOT NULL DEFAULT 'general',
  value text DEFAULT NULL,
  updated_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  PRIMARY KEY (config_id),
  UNIQUE KEY CORE_CONFIG_DATA_SCOPE_SCOPE_ID_PATH (scope, scope_id, path)
);

CREATE TABLE customer_group (
  customer_group_id int unsigned NOT NULL AUTO_INCREMENT,
  customer_group_code varchar(32) NOT NULL,
  tax_class_id int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (customer_group_id)
);

-- Products ---------------------------------------------------------------------------------------

CREATE TABLE catalog_product_entity (
  entity_id int unsigned NOT NULL AUTO_INCREMENT,
  attribute_set_id smallint unsigned NOT NULL DEFAULT 0,
  type_id varchar(32) NOT NULL DEFAULT 'simple',
  sku varchar(64) NOT NULL,
  has_options smallint NOT NULL DEFAULT 0,
  required_options smallint unsigned NOT NULL DEFAULT 0,
  created_at timestamp NOT NULL DEFAULT current_timestamp(),
  updated_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  PRIMARY KEY (entity_id),
  KEY CATALOG_PRODUCT_ENTITY_ATTRIBUTE_SET_ID (attribute_set_id),
  KEY CATALOG_PRODUCT_ENTITY_SKU (sku)
);

CREATE TABLE catalog_product_entity_int (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value int DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_PRODUCT_ENTITY_INT_ENTITY_ID_ATTRIBUTE_ID_STORE_ID (entity_id, attribute_id, store_id),
  KEY CATALOG_PRODUCT_ENTITY_INT_ATTRIBUTE_ID (attribute_id),
  KEY CATALOG_PRODUCT_ENTITY_INT_STORE_ID (store_id),
  KEY CATALOG_PRODUCT_ENTITY_INT_ATTRIBUTE_ID_STORE_ID_VALUE (attribute_id, store_id, value),
  CONSTRAINT FK_43DF1883E52F69449D2B6E61C203062E FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT CAT_PRD_ENTT_INT_ENTT_ID_CAT_PRD_ENTT_ENTT_ID FOREIGN KEY (entity_id) REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_PRODUCT_ENTITY_INT_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_entity_varchar (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value varchar(255) DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_PRODUCT_ENTITY_VARCHAR_ENTITY_ID_ATTRIBUTE_ID_STORE_ID (entity_id, attribute_id, store_id),
  KEY CATALOG_PRODUCT_ENTITY_VARCHAR_ATTRIBUTE_ID (attribute_id),
  KEY CATALOG_PRODUCT_ENTITY_VARCHAR_STORE_ID (store_id),
  CONSTRAINT CAT_PRD_ENTT_VCHR_ATTR_ID_EAV_ATTR_ATTR_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT CAT_PRD_ENTT_VCHR_ENTT_ID_CAT_PRD_ENTT_ENTT_ID FOREIGN KEY (entity_id) REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_PRODUCT_ENTITY_VARCHAR_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_entity_decimal (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value decimal(20,6) DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_PRODUCT_ENTITY_DECIMAL_ENTITY_ID_ATTRIBUTE_ID_STORE_ID (entity_id, attribute_id, store_id),
  KEY CATALOG_PRODUCT_ENTITY_DECIMAL_STORE_ID (store_id),
  KEY CATALOG_PRODUCT_ENTITY_DECIMAL_ATTRIBUTE_ID (attribute_id),
  CONSTRAINT CAT_PRD_ENTT_DEC_ATTR_ID_EAV_ATTR_ATTR_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT CAT_PRD_ENTT_DEC_ENTT_ID_CAT_PRD_ENTT_ENTT_ID FOREIGN KEY (entity_id) REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_PRODUCT_ENTITY_DECIMAL_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_entity_text (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value mediumtext DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_PRODUCT_ENTITY_TEXT_ENTITY_ID_ATTRIBUTE_ID_STORE_ID (entity_id, attribute_id, store_id),
  KEY CATALOG_PRODUCT_ENTITY_TEXT_ATTRIBUTE_ID (attribute_id),
  KEY CATALOG_PRODUCT_ENTITY_TEXT_STORE_ID (store_id),
  CONSTRAINT CAT_PRD_ENTT_TEXT_ATTR_ID_EAV_ATTR_ATTR_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT CAT_PRD_ENTT_TEXT_ENTT_ID_CAT_PRD_ENTT_ENTT_ID FOREIGN KEY (entity_id) REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_PRODUCT_ENTITY_TEXT_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_entity_datetime (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value datetime DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_PRODUCT_ENTITY_DATETIME_ENTITY_ID_ATTRIBUTE_ID_STORE_ID (entity_id, attribute_id, store_id),
  KEY CATALOG_PRODUCT_ENTITY_DATETIME_ATTRIBUTE_ID (attribute_id),
  KEY CATALOG_PRODUCT_ENTITY_DATETIME_STORE_ID (store_id),
  CONSTRAINT CAT_PRD_ENTT_DTIME_ATTR_ID_EAV_ATTR_ATTR_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT CAT_PRD_ENTT_DTIME_ENTT_ID_CAT_PRD_ENTT_ENTT_ID FOREIGN KEY (entity_id) REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_PRODUCT_ENTITY_DATETIME_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_website (
  product_id int unsigned NOT NULL,
  website_id smallint unsigned NOT NULL,
  PRIMARY KEY (product_id, website_id),
  KEY CATALOG_PRODUCT_WEBSITE_WEBSITE_ID (website_id),
  CONSTRAINT CATALOG_PRODUCT_WEBSITE_WEBSITE_ID_STORE_WEBSITE_WEBSITE_ID FOREIGN KEY (website_id) REFERENCES store_website (website_id) ON DELETE CASCADE,
  CONSTRAINT CAT_PRD_WS_PRD_ID_CAT_PRD_ENTT_ENTT_ID FOREIGN KEY (product_id) REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_relation (
  parent_id int unsigned NOT NULL,
  child_id int unsigned NOT NULL,
  PRIMARY KEY (parent_id, child_id),
  KEY CATALOG_PRODUCT_RELATION_CHILD_ID (child_id),
  CONSTRAINT CAT_PRD_RELATION_CHILD_ID_CAT_PRD_ENTT_ENTT_ID FOREIGN KEY (child_id) REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE,
  CONSTRAINT CAT_PRD_RELATION_PARENT_ID_CAT_PRD_ENTT_ENTT_ID FOREIGN KEY (parent_id) REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_super_link (
  link_id int unsigned NOT NULL AUTO_INCREMENT,
  product_id int unsigned NOT NULL DEFAULT 0,
  parent_id int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (link_id),
  UNIQUE KEY CATALOG_PRODUCT_SUPER_LINK_PRODUCT_ID_PARENT_ID (product_id, parent_id),
  KEY CATALOG_PRODUCT_SUPER_LINK_PARENT_ID (parent_id),
  CONSTRAINT CAT_PRD_SPR_LNK_PARENT_ID_CAT_PRD_ENTT_ENTT_ID FOREIGN KEY (parent_id) REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE,
  CONSTRAINT CAT_PRD_SPR_LNK_PRD_ID_CAT_PRD_ENTT_ENTT_ID FOREIGN KEY (product_id) REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_super_attribute (
  product_super_attribute_id int unsigned NOT NULL AUTO_INCREMENT,
  product_id int unsigned NOT NULL DEFAULT 0,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  position smallint unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (product_super_attribute_id),
  UNIQUE KEY CATALOG_PRODUCT_SUPER_ATTRIBUTE_PRODUCT_ID_ATTRIBUTE_ID (product_id, attribute_id),
  CONSTRAINT CAT_PRD_SPR_ATTR_PRD_ID_CAT_PRD_ENTT_ENTT_ID FOREIGN KEY (product_id) REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_super_attribute_label (
  value_id int unsigned NOT NULL AUTO_INCREMENT,
  product_super_attribute_id int unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  use_default smallint unsigned DEFAULT 0,
  value varchar(255) DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CAT_PRD_SPR_ATTR_LBL_PRD_SPR_ATTR_ID_STORE_ID (product_super_attribute_id, store_id),
  KEY CATALOG_PRODUCT_SUPER_ATTRIBUTE_LABEL_STORE_ID (store_id),
  CONSTRAINT FK_309442281DF7784210ED82B2CC51E5D5 FOREIGN KEY (product_super_attribute_id) REFERENCES catalog_product_super_attribute (product_super_attribute_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_PRODUCT_SUPER_ATTRIBUTE_LABEL_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_entity_tier_price (
  value_id int NOT NULL AUTO_INCREMENT,
  entity_id int unsigned NOT NULL DEFAULT 0,
  all_groups smallint unsigned NOT NULL DEFAULT 1,
  customer_group_id int unsigned NOT NULL DEFAULT 0,
  qty decimal(12,4) NOT NULL DEFAULT 1.0000,
  value decimal(20,6) NOT NULL DEFAULT 0.000000,
  website_id smallint unsigned NOT NULL,
  percentage_value decimal(5,2) DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY UNQ_E8AB433B9ACB00343ABB312AD2FAB087 (entity_id, all_groups, customer_group_id, qty, website_id),
  KEY CATALOG_PRODUCT_ENTITY_TIER_PRICE_CUSTOMER_GROUP_ID (customer_group_id),
  KEY CATALOG_PRODUCT_ENTITY_TIER_PRICE_WEBSITE_ID (website_id),
  CONSTRAINT CAT_PRD_ENTT_TIER_PRICE_CSTR_GROUP_ID_CSTR_GROUP_CSTR_GROUP_ID FOREIGN KEY (customer_group_id) REFERENCES customer_group (customer_group_id) ON DELETE CASCADE,
  CONSTRAINT CAT_PRD_ENTT_TIER_PRICE_ENTT_ID_CAT_PRD_ENTT_ENTT_ID FOREIGN KEY (entity_id) REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE,
  CONSTRAINT CAT_PRD_ENTT_TIER_PRICE_WS_ID_STORE_WS_WS_ID FOREIGN KEY (website_id) REFERENCES store_website (website_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_entity_media_gallery (
  value_id int unsigned NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  value varchar(255) DEFAULT NULL,
  media_type varchar(32) NOT NULL DEFAULT 'image',
  disabled smallint unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (value_id),
  KEY CATALOG_PRODUCT_ENTITY_MEDIA_GALLERY_ATTRIBUTE_ID (attribute_id),
  CONSTRAINT CAT_PRD_ENTT_MDA_GLR_ATTR_ID_EAV_ATTR_ATTR_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_entity_media_gallery_value (
  value_id int unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  label varchar(255) DEFAULT NULL,
  position int unsigned DEFAULT NULL,
  disabled smallint unsigned NOT NULL DEFAULT 0,
  record_id int unsigned NOT NULL AUTO_INCREMENT,
  PRIMARY KEY (record_id),
  KEY CATALOG_PRODUCT_ENTITY_MEDIA_GALLERY_VALUE_STORE_ID (store_id),
  KEY CATALOG_PRODUCT_ENTITY_MEDIA_GALLERY_VALUE_ENTITY_ID (entity_id),
  KEY CATALOG_PRODUCT_ENTITY_MEDIA_GALLERY_VALUE_VALUE_ID (value_id),
  KEY CAT_PRD_ENTT_MDA_GLR_VAL_ENTT_ID_VAL_ID_STORE_ID (entity_id, value_id, store_id),
  CONSTRAINT CAT_PRD_ENTT_MDA_GLR_VAL_ENTT_ID_CAT_PRD_ENTT_ENTT_ID FOREIGN KEY (entity_id) REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE,
  CONSTRAINT CAT_PRD_ENTT_MDA_GLR_VAL_VAL_ID_CAT_PRD_ENTT_MDA_GLR_VAL_ID FOREIGN KEY (value_id) REFERENCES catalog_product_entity_media_gallery (value_id) ON DELETE CASCADE,
  CONSTRAINT CAT_PRD_ENTT_MDA_GLR_VAL_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_entity_media_gallery_value_to_entity (
  value_id int unsigned NOT NULL,
  entity_id int unsigned NOT NULL,
  PRIMARY KEY (value_id, entity_id),
  KEY CAT_PRD_ENTT_MDA_GLR_VAL_TO_ENTT_ENTT_ID (entity_id),
  CONSTRAINT FK_A0591605D01C3CF1A3AAF01135EB316E FOREIGN KEY (value_id) REFERENCES catalog_product_entity_media_gallery (value_id) ON DELETE CASCADE,
  CONSTRAINT CAT_PRD_ENTT_MDA_GLR_VAL_TO_ENTT_ENTT_ID_CAT_PRD_ENTT_ENTT_ID FOREIGN KEY (entity_id) REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE
);

-- Categories -------------------------------------------------------------------------------------

CREATE TABLE catalog_category_entity (
  entity_id int unsigned NOT NULL AUTO_INCREMENT,
  attribute_set_id smallint unsigned NOT NULL DEFAULT 0,
  parent_id int unsigned NOT NULL DEFAULT 0,
  created_at timestamp NOT NULL DEFAULT current_timestamp(),
  updated_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  path varchar(255) NOT NULL,
  position int NOT NULL,
  level int NOT NULL DEFAULT 0,
  children_count int NOT NULL,
  PRIMARY KEY (entity_id),
  KEY CATALOG_CATEGORY_ENTITY_LEVEL (level),
  KEY CATALOG_CATEGORY_ENTITY_PATH (path)
);

CREATE TABLE catalog_category_entity_int (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value int DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_CATEGORY_ENTITY_INT_ENTITY_ID_ATTRIBUTE_ID_STORE_ID (entity_id, attribute_id, store_id),
  KEY CATALOG_CATEGORY_ENTITY_INT_ENTITY_ID (entity_id),
  KEY CATALOG_CATEGORY_ENTITY_INT_ATTRIBUTE_ID (attribute_id),
  KEY CATALOG_CATEGORY_ENTITY_INT_STORE_ID (store_id),
  CONSTRAINT CAT_CTGR_ENTT_INT_ATTR_ID_EAV_ATTR_ATTR_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT CAT_CTGR_ENTT_INT_ENTT_ID_CAT_CTGR_ENTT_ENTT_ID FOREIGN KEY (entity_id) REFERENCES catalog_category_entity (entity_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_CATEGORY_ENTITY_INT_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_category_entity_varchar (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value varchar(255) DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_CATEGORY_ENTITY_VARCHAR_ENTITY_ID_ATTRIBUTE_ID_STORE_ID (entity_id, attribute_id, store_id),
  KEY CATALOG_CATEGORY_ENTITY_VARCHAR_ENTITY_ID (entity_id),
  KEY CATALOG_CATEGORY_ENTITY_VARCHAR_ATTRIBUTE_ID (attribute_id),
  KEY CATALOG_CATEGORY_ENTITY_VARCHAR_STORE_ID (store_id),
  CONSTRAINT CAT_CTGR_ENTT_VCHR_ATTR_ID_EAV_ATTR_ATTR_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT CAT_CTGR_ENTT_VCHR_ENTT_ID_CAT_CTGR_ENTT_ENTT_ID FOREIGN KEY (entity_id) REFERENCES catalog_category_entity (entity_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_CATEGORY_ENTITY_VARCHAR_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_category_entity_decimal (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value decimal(20,6) DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_CATEGORY_ENTITY_DECIMAL_ENTITY_ID_ATTRIBUTE_ID_STORE_ID (entity_id, attribute_id, store_id),
  KEY CATALOG_CATEGORY_ENTITY_DECIMAL_ENTITY_ID (entity_id),
  KEY CATALOG_CATEGORY_ENTITY_DECIMAL_ATTRIBUTE_ID (attribute_id),
  KEY CATALOG_CATEGORY_ENTITY_DECIMAL_STORE_ID (store_id),
  CONSTRAINT CAT_CTGR_ENTT_DEC_ATTR_ID_EAV_ATTR_ATTR_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT CAT_CTGR_ENTT_DEC_ENTT_ID_CAT_CTGR_ENTT_ENTT_ID FOREIGN KEY (entity_id) REFERENCES catalog_category_entity (entity_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_CATEGORY_ENTITY_DECIMAL_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_category_entity_text (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value mediumtext DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_CATEGORY_ENTITY_TEXT_ENTITY_ID_ATTRIBUTE_ID_STORE_ID (entity_id, attribute_id, store_id),
  KEY CATALOG_CATEGORY_ENTITY_TEXT_ENTITY_ID (entity_id),
  KEY CATALOG_CATEGORY_ENTITY_TEXT_ATTRIBUTE_ID (attribute_id),
  KEY CATALOG_CATEGORY_ENTITY_TEXT_STORE_ID (store_id),
  CONSTRAINT CAT_CTGR_ENTT_TEXT_ATTR_ID_EAV_ATTR_ATTR_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT CAT_CTGR_ENTT_TEXT_ENTT_ID_CAT_CTGR_ENTT_ENTT_ID FOREIGN KEY (entity_id) REFERENCES catalog_category_entity (entity_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_CATEGORY_ENTITY_TEXT_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_category_entity_datetime (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value datetime DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_CATEGORY_ENTITY_DATETIME_ENTITY_ID_ATTRIBUTE_ID_STORE_ID (entity_id, attribute_id, store_id),
  KEY CATALOG_CATEGORY_ENTITY_DATETIME_ENTITY_ID (entity_id),
  KEY CATALOG_CATEGORY_ENTITY_DATETIME_ATTRIBUTE_ID (attribute_id),
  KEY CATALOG_CATEGORY_ENTITY_DATETIME_STORE_ID (store_id),
  CONSTRAINT CAT_CTGR_ENTT_DTIME_ATTR_ID_EAV_ATTR_ATTR_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT CAT_CTGR_ENTT_DTIME_ENTT_ID_CAT_CTGR_ENTT_ENTT_ID FOREIGN KEY (entity_id) REFERENCES catalog_category_entity (entity_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_CATEGORY_ENTITY_DATETIME_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_category_product (
  entity_id int NOT NULL AUTO_INCREMENT,
  category_id int unsigned NOT NULL DEFAULT 0,
  product_id int unsigned NOT NULL DEFAULT 0,
  position int NOT NULL DEFAULT 0,
  PRIMARY KEY (entity_id, category_id, product_id),
  UNIQUE KEY CATALOG_CATEGORY_PRODUCT_CATEGORY_ID_PRODUCT_ID (category_id, product_id),
  KEY CATALOG_CATEGORY_PRODUCT_PRODUCT_ID (product_id),
  CONSTRAINT CAT_CTGR_PRD_CTGR_ID_CAT_CTGR_ENTT_ENTT_ID FOREIGN KEY (category_id) REFERENCES catalog_category_entity (entity_id) ON DELETE CASCADE,
  CONSTRAINT CAT_CTGR_PRD_PRD_ID_CAT_PRD_ENTT_ENTT_ID FOREIGN KEY (product_id) REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE
);

-- Customers --------------------------------------------------------------------------------------

CREATE TABLE customer_entity (
  entity_id int unsigned NOT NULL AUTO_INCREMENT,
  website_id smallint unsigned DEFAULT NULL,
  email varchar(255) DEFAULT NULL,
  group_id smallint unsigned NOT NULL DEFAULT 0,
  increment_id varchar(50) DEFAULT NULL,
  store_id smallint unsigned DEFAULT 0,
  created_at timestamp NOT NULL DEFAULT current_timestamp(),
  updated_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  is_active smallint unsigned NOT NULL DEFAULT 1,
  disable_auto_group_change smallint unsigned NOT NULL DEFAULT 0,
  created_in varchar(255) DEFAULT NULL,
  prefix varchar(40) DEFAULT NULL,
  firstname varchar(255) DEFAULT NULL,
  middlename varchar(255) DEFAULT NULL,
  lastname varchar(255) DEFAULT NULL,
  suffix varchar(40) DEFAULT NULL,
  dob date DEFAULT NULL,
  password_hash varchar(128) DEFAULT NULL,
  rp_token varchar(128) DEFAULT NULL,
  rp_token_created_at datetime DEFAULT NULL,
  default_billing int unsigned DEFAULT NULL,
  default_shipping int unsigned DEFAULT NULL,
  taxvat varchar(50) DEFAULT NULL,
  confirmation varchar(64) DEFAULT NULL,
  gender smallint unsigned DEFAULT NULL,
  failures_num smallint DEFAULT 0,
  first_failure timestamp NULL DEFAULT NULL,
  lock_expires timestamp NULL DEFAULT NULL,
  session_cutoff timestamp NULL DEFAULT NULL,
  PRIMARY KEY (entity_id),
  UNIQUE KEY CUSTOMER_ENTITY_EMAIL_WEBSITE_ID (email, website_id),
  KEY CUSTOMER_ENTITY_WEBSITE_ID (website_id),
  KEY CUSTOMER_ENTITY_FIRSTNAME (firstname),
  KEY CUSTOMER_ENTITY_LASTNAME (lastname),
  CONSTRAINT CUSTOMER_ENTITY_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE SET NULL,
  CONSTRAINT CUSTOMER_ENTITY_WEBSITE_ID_STORE_WEBSITE_WEBSITE_ID FOREIGN KEY (website_id) REFERENCES store_website (website_id) ON DELETE SET NULL
);

CREATE TABLE customer_address_entity (
  entity_id int unsigned NOT NULL AUTO_INCREMENT,
  increment_id varchar(50) DEFAULT NULL,
  parent_id int unsigned DEFAULT NULL,
  created_at timestamp NOT NULL DEFAULT current_timestamp(),
  updated_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  is_active smallint unsigned NOT NULL DEFAULT 1,
  city varchar(255) NOT NULL,
  company varchar(255) DEFAULT NULL,
  country_id varchar(255) NOT NULL,
  fax varchar(255) DEFAULT NULL,
  firstname varchar(255) NOT NULL,
  lastname varchar(255) NOT NULL,
  middlename varchar(255) DEFAULT NULL,
  postcode varchar(255) DEFAULT NULL,
  prefix varchar(40) DEFAULT NULL,
  region varchar(255) DEFAULT NULL,
  region_id int unsigned DEFAULT NULL,
  street text NOT NULL,
  suffix varchar(40) DEFAULT NULL,
  telephone varchar(255) NOT NULL,
  vat_id varchar(255) DEFAULT NULL,
  vat_is_valid int unsigned DEFAULT NULL,
  vat_request_date varchar(255) DEFAULT NULL,
  vat_request_id varchar(255) DEFAULT NULL,
  vat_request_success int unsigned DEFAULT NULL,
  PRIMARY KEY (entity_id),
  KEY CUSTOMER_ADDRESS_ENTITY_PARENT_ID (parent_id),
  CONSTRAINT CUSTOMER_ADDRESS_ENTITY_PARENT_ID_CUSTOMER_ENTITY_ENTITY_ID FOREIGN KEY (parent_id) REFERENCES customer_entity (entity_id) ON DELETE CASCADE
);

CREATE TABLE customer_entity_datetime (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value datetime DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CUSTOMER_ENTITY_DATETIME_ENTITY_ID_ATTRIBUTE_ID (entity_id, attribute_id),
  KEY CUSTOMER_ENTITY_DATETIME_ATTRIBUTE_ID (attribute_id),
  CONSTRAINT CUSTOMER_ENTITY_DATETIME_ATTRIBUTE_ID_EAV_ATTRIBUTE_ATTRIBUTE_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT CUSTOMER_ENTITY_DATETIME_ENTITY_ID_CUSTOMER_ENTITY_ENTITY_ID FOREIGN KEY (entity_id) REFERENCES customer_entity (entity_id) ON DELETE CASCADE
);

CREATE TABLE customer_entity_decimal (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value decimal(12,4) DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CUSTOMER_ENTITY_DECIMAL_ENTITY_ID_ATTRIBUTE_ID (entity_id, attribute_id),
  KEY CUSTOMER_ENTITY_DECIMAL_ATTRIBUTE_ID (attribute_id),
  CONSTRAINT CUSTOMER_ENTITY_DECIMAL_ATTRIBUTE_ID_EAV_ATTRIBUTE_ATTRIBUTE_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT CUSTOMER_ENTITY_DECIMAL_ENTITY_ID_CUSTOMER_ENTITY_ENTITY_ID FOREIGN KEY (entity_id) REFERENCES customer_entity (entity_id) ON DELETE CASCADE
);

CREATE TABLE customer_entity_int (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value int DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CUSTOMER_ENTITY_INT_ENTITY_ID_ATTRIBUTE_ID (entity_id, attribute_id),
  KEY CUSTOMER_ENTITY_INT_ATTRIBUTE_ID (attribute_id),
  CONSTRAINT CUSTOMER_ENTITY_INT_ATTRIBUTE_ID_EAV_ATTRIBUTE_ATTRIBUTE_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT CUSTOMER_ENTITY_INT_ENTITY_ID_CUSTOMER_ENTITY_ENTITY_ID FOREIGN KEY (entity_id) REFERENCES customer_entity (entity_id) ON DELETE CASCADE
);

CREATE TABLE customer_entity_text (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value text NOT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CUSTOMER_ENTITY_TEXT_ENTITY_ID_ATTRIBUTE_ID (entity_id, attribute_id),
  KEY CUSTOMER_ENTITY_TEXT_ATTRIBUTE_ID (attribute_id),
  CONSTRAINT CUSTOMER_ENTITY_TEXT_ATTRIBUTE_ID_EAV_ATTRIBUTE_ATTRIBUTE_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT CUSTOMER_ENTITY_TEXT_ENTITY_ID_CUSTOMER_ENTITY_ENTITY_ID FOREIGN KEY (entity_id) REFERENCES customer_entity (entity_id) ON DELETE CASCADE
);

CREATE TABLE customer_entity_varchar (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value varchar(255) DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CUSTOMER_ENTITY_VARCHAR_ENTITY_ID_ATTRIBUTE_ID (entity_id, attribute_id),
  KEY CUSTOMER_ENTITY_VARCHAR_ATTRIBUTE_ID (attribute_id),
  CONSTRAINT CUSTOMER_ENTITY_VARCHAR_ATTRIBUTE_ID_EAV_ATTRIBUTE_ATTRIBUTE_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT CUSTOMER_ENTITY_VARCHAR_ENTITY_ID_CUSTOMER_ENTITY_ENTITY_ID FOREIGN KEY (entity_id) REFERENCES customer_entity (entity_id) ON DELETE CASCADE
);

CREATE TABLE customer_address_entity_datetime (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value datetime DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CUSTOMER_ADDRESS_ENTITY_DATETIME_ENTITY_ID_ATTRIBUTE_ID (entity_id, attribute_id),
  KEY CUSTOMER_ADDRESS_ENTITY_DATETIME_ATTRIBUTE_ID (attribute_id),
  CONSTRAINT FK_C0904A5053D453155866546D8E2C6645 FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT FK_C3C59D9999D1CF64FB1E4B6CBED486A5 FOREIGN KEY (entity_id) REFERENCES customer_address_entity (entity_id) ON DELETE CASCADE
);

CREATE TABLE customer_address_entity_decimal (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value decimal(12,4) DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CUSTOMER_ADDRESS_ENTITY_DECIMAL_ENTITY_ID_ATTRIBUTE_ID (entity_id, attribute_id),
  KEY CUSTOMER_ADDRESS_ENTITY_DECIMAL_ATTRIBUTE_ID (attribute_id),
  CONSTRAINT FK_8CFD739C9A05CAC37F5960AC58F23E23 FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT FK_510BD384A1C68DC6B0F6618AB799EEC6 FOREIGN KEY (entity_id) REFERENCES customer_address_entity (entity_id) ON DELETE CASCADE
);

CREATE TABLE customer_address_entity_int (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value int DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CUSTOMER_ADDRESS_ENTITY_INT_ENTITY_ID_ATTRIBUTE_ID (entity_id, attribute_id),
  KEY CUSTOMER_ADDRESS_ENTITY_INT_ATTRIBUTE_ID (attribute_id),
  CONSTRAINT FK_18AAA07587C4E538661BE97D9C889919 FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT FK_2FB0A8D6ECDA6E9F5A8C492A15C08D2D FOREIGN KEY (entity_id) REFERENCES customer_address_entity (entity_id) ON DELETE CASCADE
);

CREATE TABLE customer_address_entity_text (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value text NOT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CUSTOMER_ADDRESS_ENTITY_TEXT_ENTITY_ID_ATTRIBUTE_ID (entity_id, attribute_id),
  KEY CUSTOMER_ADDRESS_ENTITY_TEXT_ATTRIBUTE_ID (attribute_id),
  CONSTRAINT FK_5456F7F26D8C445E91FB95D4943B2B46 FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT FK_DEC2D279631B216BAB4FCF4288FD099C FOREIGN KEY (entity_id) REFERENCES customer_address_entity (entity_id) ON DELETE CASCADE
);

CREATE TABLE customer_address_entity_varchar (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  entity_id int unsigned NOT NULL DEFAULT 0,
  value varchar(255) DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CUSTOMER_ADDRESS_ENTITY_VARCHAR_ENTITY_ID_ATTRIBUTE_ID (entity_id, attribute_id),
  KEY CUSTOMER_ADDRESS_ENTITY_VARCHAR_ATTRIBUTE_ID (attribute_id),
  CONSTRAINT FK_0E5FE1D439ECB59E10768C078519B41A FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT FK_3DFD4E09EDA18FF68BBE2BCA944C59E4 FOREIGN KEY (entity_id) REFERENCES customer_address_entity (entity_id) ON DELETE CASCADE
);

-- URL rewrites -----------------------------------------------------------------------------------

CREATE TABLE url_rewrite (
  url_rewrite_id int unsigned NOT NULL AUTO_INCREMENT,
  entity_type varchar(32) NOT NULL,
  entity_id int unsigned NOT NULL,
  request_path varchar(255) DEFAULT NULL,
  target_path varchar(255) DEFAULT NULL,
  redirect_type smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL,
  description varchar(255) DEFAULT NULL,
  is_autogenerated smallint unsigned NOT NULL DEFAULT 0,
  metadata varchar(255) DEFAULT NULL,
  PRIMARY KEY (url_rewrite_id),
  UNIQUE KEY URL_REWRITE_REQUEST_PATH_STORE_ID (request_path, store_id),
  KEY URL_REWRITE_TARGET_PATH (target_path),
  KEY URL_REWRITE_STORE_ID_ENTITY_ID (store_id, entity_id),
  KEY URL_REWRITE_ENTITY_ID (entity_id)
);

-- Inventory: legacy CatalogInventory and MSI -----------------------------------------------------

CREATE TABLE cataloginventory_stock (
  stock_id smallint unsigned NOT NULL AUTO_INCREMENT,
  website_id smallint unsigned NOT NULL,
  stock_name varchar(255) DEFAULT NULL,
  PRIMARY KEY (stock_id),
  KEY CATALOGINVENTORY_STOCK_WEBSITE_ID (website_id)
);

CREATE TABLE cataloginventory_stock_item (
  item_id int unsigned NOT NULL AUTO_INCREMENT,
  product_id int unsigned NOT NULL DEFAULT 0,
  stock_id smallint unsigned NOT NULL DEFAULT 0,
  qty decimal(12,4) DEFAULT NULL,
  min_qty decimal(12,4) NOT NULL DEFAULT 0.0000,
  use_config_min_qty smallint unsigned NOT NULL DEFAULT 1,
  is_qty_decimal smallint unsigned NOT NULL DEFAULT 0,
  backorders smallint unsigned NOT NULL DEFAULT 0,
  use_config_backorders smallint unsigned NOT NULL DEFAULT 1,
  min_sale_qty decimal(12,4) NOT NULL DEFAULT 1.0000,
  use_config_min_sale_qty smallint unsigned NOT NULL DEFAULT 1,
  max_sale_qty decimal(12,4) NOT NULL DEFAULT 0.0000,
  use_config_max_sale_qty smallint unsigned NOT NULL DEFAULT 1,
  is_in_stock smallint unsigned NOT NULL DEFAULT 0,
  low_stock_date timestamp NULL DEFAULT NULL,
  notify_stock_qty decimal(12,4) DEFAULT NULL,
  use_config_notify_stock_qty smallint unsigned NOT NULL DEFAULT 1,
  manage_stock smallint unsigned NOT NULL DEFAULT 0,
  use_config_manage_stock smallint unsigned NOT NULL DEFAULT 1,
  stock_status_changed_auto smallint unsigned NOT NULL DEFAULT 0,
  use_config_qty_increments smallint unsigned NOT NULL DEFAULT 1,
  qty_increments decimal(12,4) NOT NULL DEFAULT 0.0000,
  use_config_enable_qty_inc smallint unsigned NOT NULL DEFAULT 1,
  enable_qty_increments smallint unsigned NOT NULL DEFAULT 0,
  is_decimal_divided smallint unsigned NOT NULL DEFAULT 0,
  website_id smallint unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (item_id),
  UNIQUE KEY CATALOGINVENTORY_STOCK_ITEM_PRODUCT_ID_STOCK_ID (product_id, stock_id),
  KEY CATALOGINVENTORY_STOCK_ITEM_WEBSITE_ID (website_id),
  KEY CATALOGINVENTORY_STOCK_ITEM_WEBSITE_ID_PRODUCT_ID (website_id, product_id),
  KEY CATALOGINVENTORY_STOCK_ITEM_STOCK_ID (stock_id),
  CONSTRAINT CATINV_STOCK_ITEM_PRD_ID_CAT_PRD_ENTT_ENTT_ID FOREIGN KEY (product_id) REFERENCES catalog_product_entity (entity_id) ON DELETE CASCADE,
  CONSTRAINT CATINV_STOCK_ITEM_STOCK_ID_CATINV_STOCK_STOCK_ID FOREIGN KEY (stock_id) REFERENCES cataloginventory_stock (stock_id) ON DELETE CASCADE
);

CREATE TABLE inventory_source (
  source_code varchar(255) NOT NULL,
  name varchar(255) NOT NULL,
  enabled smallint unsigned NOT NULL DEFAULT 1,
  description text DEFAULT NULL,
  latitude decimal(8,6) DEFAULT NULL,
  longitude decimal(9,6) DEFAULT NULL,
  country_id varchar(2) NOT NULL,
  region_id int unsigned DEFAULT NULL,
  region varchar(255) DEFAULT NULL,
  city varchar(255) DEFAULT NULL,
  street varchar(255) DEFAULT NULL,
  postcode varchar(255) NOT NULL,
  contact_name varchar(255) DEFAULT NULL,
  email varchar(255) DEFAULT NULL,
  phone varchar(255) DEFAULT NULL,
  fax varchar(255) DEFAULT NULL,
  use_default_carrier_config smallint unsigned NOT NULL DEFAULT 1,
  PRIMARY KEY (source_code)
);

CREATE TABLE inventory_source_item (
  source_item_id int unsigned NOT NULL AUTO_INCREMENT,
  source_code varchar(255) NOT NULL,
  sku varchar(64) NOT NULL,
  quantity decimal(12,4) NOT NULL DEFAULT 0.0000,
  status smallint unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (source_item_id),
  UNIQUE KEY INVENTORY_SOURCE_ITEM_SOURCE_CODE_SKU (source_code, sku),
  KEY INVENTORY_SOURCE_ITEM_SKU_SOURCE_CODE_QUANTITY (sku, source_code, quantity),
  CONSTRAINT INVENTORY_SOURCE_ITEM_SOURCE_CODE_INVENTORY_SOURCE_SOURCE_CODE FOREIGN KEY (source_code) REFERENCES inventory_source (source_code) ON DELETE CASCADE
);

-- Sales: flat tables -----------------------------------------------------------------------------

CREATE TABLE sales_sequence_meta (
  meta_id int unsigned NOT NULL AUTO_INCREMENT,
  entity_type varchar(32) NOT NULL,
  store_id smallint unsigned NOT NULL,
  sequence_table varchar(64) NOT NULL,
  PRIMARY KEY (meta_id),
  UNIQUE KEY SALES_SEQUENCE_META_ENTITY_TYPE_STORE_ID (entity_type, store_id)
);

CREATE TABLE sales_sequence_profile (
  profile_id int unsigned NOT NULL AUTO_INCREMENT,
  meta_id int unsigned NOT NULL,
  prefix varchar(32) DEFAULT NULL,
  suffix varchar(32) DEFAULT NULL,
  start_value int unsigned NOT NULL DEFAULT 1,
  step int unsigned NOT NULL DEFAULT 1,
  max_value int unsigned NOT NULL,
  warning_value int unsigned NOT NULL,
  is_active smallint unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (profile_id),
  UNIQUE KEY SALES_SEQUENCE_PROFILE_META_ID_PREFIX_SUFFIX (meta_id, prefix, suffix),
  CONSTRAINT SALES_SEQUENCE_PROFILE_META_ID_SALES_SEQUENCE_META_META_ID FOREIGN KEY (meta_id) REFERENCES sales_sequence_meta (meta_id) ON DELETE CASCADE
);

CREATE TABLE sales_order (
  entity_id int unsigned NOT NULL AUTO_INCREMENT,
  state varchar(32) DEFAULT NULL,
  status varchar(32) DEFAULT NULL,
  coupon_code varchar(255) DEFAULT NULL,
  protect_code varchar(255) DEFAULT NULL,
  shipping_description varchar(255) DEFAULT NULL,
  is_virtual smallint unsigned DEFAULT NULL,
  store_id smallint unsigned DEFAULT NULL,
  customer_id int unsigned DEFAULT NULL,
  base_discount_amount decimal(20,4) DEFAULT NULL,
  base_discount_canceled decimal(20,4) DEFAULT NULL,
  base_discount_invoiced decimal(20,4) DEFAULT NULL,
  base_discount_refunded decimal(20,4) DEFAULT NULL,
  base_grand_total decimal(20,4) DEFAULT NULL,
  base_shipping_amount decimal(20,4) DEFAULT NULL,
  base_shipping_canceled decimal(20,4) DEFAULT NULL,
  base_shipping_invoiced decimal(20,4) DEFAULT NULL,
  base_shipping_refunded decimal(20,4) DEFAULT NULL,
  base_shipping_tax_amount decimal(20,4) DEFAULT NULL,
  base_shipping_tax_refunded decimal(20,4) DEFAULT NULL,
  base_subtotal decimal(20,4) DEFAULT NULL,
  base_subtotal_canceled decimal(20,4) DEFAULT NULL,
  base_subtotal_invoiced decimal(20,4) DEFAULT NULL,
  base_subtotal_refunded decimal(20,4) DEFAULT NULL,
  base_tax_amount decimal(20,4) DEFAULT NULL,
  base_tax_canceled decimal(20,4) DEFAULT NULL,
  base_tax_invoiced decimal(20,4) DEFAULT NULL,
  base_tax_refunded decimal(20,4) DEFAULT NULL,
  base_to_global_rate decimal(20,4) DEFAULT NULL,
  base_to_order_rate decimal(20,4) DEFAULT NULL,
  base_total_canceled decimal(20,4) DEFAULT NULL,
  base_total_invoiced decimal(20,4) DEFAULT NULL,
  base_total_invoiced_cost decimal(20,4) DEFAULT NULL,
  base_total_offline_refunded decimal(20,4) DEFAULT NULL,
  base_total_online_refunded decimal(20,4) DEFAULT NULL,
  base_total_paid decimal(20,4) DEFAULT NULL,
  base_total_qty_ordered decimal(12,4) DEFAULT NULL,
  base_total_refunded decimal(20,4) DEFAULT NULL,
  discount_amount decimal(20,4) DEFAULT NULL,
  discount_canceled decimal(20,4) DEFAULT NULL,
  discount_invoiced decimal(20,4) DEFAULT NULL,
  discount_refunded decimal(20,4) DEFAULT NULL,
  grand_total decimal(20,4) DEFAULT NULL,
  shipping_amount decimal(20,4) DEFAULT NULL,
  shipping_canceled decimal(20,4) DEFAULT NULL,
  shipping_invoiced decimal(20,4) DEFAULT NULL,
  shipping_refunded decimal(20,4) DEFAULT NULL,
  shipping_tax_amount decimal(20,4) DEFAULT NULL,
  shipping_tax_refunded decimal(20,4) DEFAULT NULL,
  store_to_base_rate decimal(12,4) DEFAULT NULL,
  store_to_order_rate decimal(12,4) DEFAULT NULL,
  subtotal decimal(20,4) DEFAULT NULL,
  subtotal_canceled decimal(20,4) DEFAULT NULL,
  subtotal_invoiced decimal(20,4) DEFAULT NULL,
  subtotal_refunded decimal(20,4) DEFAULT NULL,
  tax_amount decimal(20,4) DEFAULT NULL,
  tax_canceled decimal(20,4) DEFAULT NULL,
  tax_invoiced decimal(20,4) DEFAULT NULL,
  tax_refunded decimal(20,4) DEFAULT NULL,
  total_canceled decimal(20,4) DEFAULT NULL,
  total_invoiced decimal(20,4) DEFAULT NULL,
  total_offline_refunded decimal(20,4) DEFAULT NULL,
  total_online_refunded decimal(20,4) DEFAULT NULL,
  total_paid decimal(20,4) DEFAULT NULL,
  total_qty_ordered decimal(12,4) DEFAULT NULL,
  total_refunded decimal(20,4) DEFAULT NULL,
  can_ship_partially smallint unsigned DEFAULT NULL,
  can_ship_partially_item smallint unsigned DEFAULT NULL,
  customer_is_guest smallint unsigned DEFAULT NULL,
  customer_note_notify smallint unsigned DEFAULT NULL,
  billing_address_id int DEFAULT NULL,
  customer_group_id int DEFAULT NULL,
  edit_increment int DEFAULT NULL,
  email_sent smallint unsigned DEFAULT NULL,
  send_email smallint unsigned DEFAULT NULL,
  forced_shipment_with_invoice smallint unsigned DEFAULT NULL,
  payment_auth_expiration int DEFAULT NULL,
  quote_address_id int DEFAULT NULL,
  quote_id int DEFAULT NULL,
  shipping_address_id int DEFAULT NULL,
  adjustment_negative decimal(20,4) DEFAULT NULL,
  adjustment_positive decimal(20,4) DEFAULT NULL,
  base_adjustment_negative decimal(20,4) DEFAULT NULL,
  base_adjustment_positive decimal(20,4) DEFAULT NULL,
  base_shipping_discount_amount decimal(20,4) DEFAULT NULL,
  base_subtotal_incl_tax decimal(20,4) DEFAULT NULL,
  base_total_due decimal(20,4) DEFAULT NULL,
  payment_authorization_amount decimal(20,4) DEFAULT NULL,
  shipping_discount_amount decimal(20,4) DEFAULT NULL,
  subtotal_incl_tax decimal(20,4) DEFAULT NULL,
  total_due decimal(20,4) DEFAULT NULL,
  weight decimal(12,4) DEFAULT NULL,
  customer_dob datetime DEFAULT NULL,
  increment_id varchar(50) DEFAULT NULL,
  applied_rule_ids varchar(128) DEFAULT NULL,
  base_currency_code varchar(3) DEFAULT NULL,
  customer_email varchar(128) DEFAULT NULL,
  customer_firstname varchar(128) DEFAULT NULL,
  customer_lastname varchar(128) DEFAULT NULL,
  customer_middlename varchar(128) DEFAULT NULL,
  customer_prefix varchar(32) DEFAULT NULL,
  customer_suffix varchar(32) DEFAULT NULL,
  customer_taxvat varchar(32) DEFAULT NULL,
  discount_description varchar(255) DEFAULT NULL,
  ext_customer_id varchar(32) DEFAULT NULL,
  ext_order_id varchar(32) DEFAULT NULL,
  global_currency_code varchar(3) DEFAULT NULL,
  hold_before_state varchar(32) DEFAULT NULL,
  hold_before_status varchar(32) DEFAULT NULL,
  order_currency_code varchar(3) DEFAULT NULL,
  original_increment_id varchar(50) DEFAULT NULL,
  relation_child_id varchar(32) DEFAULT NULL,
  relation_child_real_id varchar(32) DEFAULT NULL,
  relation_parent_id varchar(32) DEFAULT NULL,
  relation_parent_real_id varchar(32) DEFAULT NULL,
  remote_ip varchar(45) DEFAULT NULL,
  shipping_method varchar(120) DEFAULT NULL,
  store_currency_code varchar(3) DEFAULT NULL,
  store_name varchar(255) DEFAULT NULL,
  x_forwarded_for varchar(255) DEFAULT NULL,
  customer_note text DEFAULT NULL,
  created_at timestamp NOT NULL DEFAULT current_timestamp(),
  updated_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  total_item_count smallint unsigned NOT NULL DEFAULT 0,
  customer_gender int DEFAULT NULL,
  discount_tax_compensation_amount decimal(20,4) DEFAULT NULL,
  base_discount_tax_compensation_amount decimal(20,4) DEFAULT NULL,
  shipping_discount_tax_compensation_amount decimal(20,4) DEFAULT NULL,
  base_shipping_discount_tax_compensation_amnt decimal(20,4) DEFAULT NULL,
  discount_tax_compensation_invoiced decimal(20,4) DEFAULT NULL,
  base_discount_tax_compensation_invoiced decimal(20,4) DEFAULT NULL,
  discount_tax_compensation_refunded decimal(20,4) DEFAULT NULL,
  base_discount_tax_compensation_refunded decimal(20,4) DEFAULT NULL,
  shipping_incl_tax decimal(20,4) DEFAULT NULL,
  base_shipping_incl_tax decimal(20,4) DEFAULT NULL,
  coupon_rule_name varchar(255) DEFAULT NULL,
  gift_message_id int DEFAULT NULL,
  paypal_ipn_customer_notified int DEFAULT 0,
  PRIMARY KEY (entity_id),
  UNIQUE KEY SALES_ORDER_INCREMENT_ID_STORE_ID (increment_id, store_id),
  KEY SALES_ORDER_STATUS (status),
  KEY SALES_ORDER_STATE (state),
  KEY SALES_ORDER_STORE_ID (store_id),
  KEY SALES_ORDER_CREATED_AT (created_at),
  KEY SALES_ORDER_CUSTOMER_ID (customer_id),
  KEY SALES_ORDER_EXT_ORDER_ID (ext_order_id),
  KEY SALES_ORDER_QUOTE_ID (quote_id),
  KEY SALES_ORDER_UPDATED_AT (updated_at),
  KEY SALES_ORDER_SEND_EMAIL (send_email),
  KEY SALES_ORDER_EMAIL_SENT (email_sent),
  CONSTRAINT SALES_ORDER_CUSTOMER_ID_CUSTOMER_ENTITY_ENTITY_ID FOREIGN KEY (customer_id) REFERENCES customer_entity (entity_id) ON DELETE SET NULL,
  CONSTRAINT SALES_ORDER_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE SET NULL
);

CREATE TABLE sales_order_item (
  item_id int unsigned NOT NULL AUTO_INCREMENT,
  order_id int unsigned NOT NULL DEFAULT 0,
  parent_item_id int unsigned DEFAULT NULL,
  quote_item_id int unsigned DEFAULT NULL,
  store_id smallint unsigned DEFAULT NULL,
  created_at timestamp NOT NULL DEFAULT current_timestamp(),
  updated_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  product_id int unsigned DEFAULT NULL,
  product_type varchar(255) DEFAULT NULL,
  product_options longtext DEFAULT NULL,
  weight decimal(12,4) DEFAULT 0.0000,
  is_virtual smallint unsigned DEFAULT NULL,
  sku varchar(255) DEFAULT NULL,
  name varchar(255) DEFAULT NULL,
  description text DEFAULT NULL,
  applied_rule_ids text DEFAULT NULL,
  additional_data text DEFAULT NULL,
  is_qty_decimal smallint unsigned DEFAULT NULL,
  no_discount smallint unsigned NOT NULL DEFAULT 0,
  qty_backordered decimal(12,4) DEFAULT 0.0000,
  qty_canceled decimal(12,4) DEFAULT 0.0000,
  qty_invoiced decimal(12,4) DEFAULT 0.0000,
  qty_ordered decimal(12,4) DEFAULT 0.0000,
  qty_refunded decimal(12,4) DEFAULT 0.0000,
  qty_shipped decimal(12,4) DEFAULT 0.0000,
  base_cost decimal(12,4) DEFAULT 0.0000,
  price decimal(12,4) NOT NULL DEFAULT 0.0000,
  base_price decimal(12,4) NOT NULL DEFAULT 0.0000,
  original_price decimal(12,4) DEFAULT NULL,
  base_original_price decimal(12,4) DEFAULT NULL,
  tax_percent decimal(12,4) DEFAULT 0.0000,
  tax_amount decimal(20,4) DEFAULT 0.0000,
  base_tax_amount decimal(20,4) DEFAULT 0.0000,
  tax_invoiced decimal(20,4) DEFAULT 0.0000,
  base_tax_invoiced decimal(20,4) DEFAULT 0.0000,
  discount_percent decimal(12,4) DEFAULT 0.0000,
  discount_amount decimal(20,4) DEFAULT 0.0000,
  base_discount_amount decimal(20,4) DEFAULT 0.0000,
  discount_invoiced decimal(20,4) DEFAULT 0.0000,
  base_discount_invoiced decimal(20,4) DEFAULT 0.0000,
  amount_refunded decimal(20,4) DEFAULT 0.0000,
  base_amount_refunded decimal(20,4) DEFAULT 0.0000,
  row_total decimal(20,4) NOT NULL DEFAULT 0.0000,
  base_row_total decimal(20,4) NOT NULL DEFAULT 0.0000,
  row_invoiced decimal(20,4) NOT NULL DEFAULT 0.0000,
  base_row_invoiced decimal(20,4) NOT NULL DEFAULT 0.0000,
  row_weight decimal(12,4) DEFAULT 0.0000,
  base_tax_before_discount decimal(20,4) DEFAULT NULL,
  tax_before_discount decimal(20,4) DEFAULT NULL,
  ext_order_item_id varchar(255) DEFAULT NULL,
  locked_do_invoice smallint unsigned DEFAULT NULL,
  locked_do_ship smallint unsigned DEFAULT NULL,
  price_incl_tax decimal(20,4) DEFAULT NULL,
  base_price_incl_tax decimal(20,4) DEFAULT NULL,
  row_total_incl_tax decimal(20,4) DEFAULT NULL,
  base_row_total_incl_tax decimal(20,4) DEFAULT NULL,
  discount_tax_compensation_amount decimal(20,4) DEFAULT NULL,
  base_discount_tax_compensation_amount decimal(20,4) DEFAULT NULL,
  free_shipping smallint unsigned NOT NULL DEFAULT 0,
  gift_message_id int DEFAULT NULL,
  gift_message_available int DEFAULT NULL,
  PRIMARY KEY (item_id),
  KEY SALES_ORDER_ITEM_ORDER_ID (order_id),
  KEY SALES_ORDER_ITEM_STORE_ID (store_id),
  CONSTRAINT SALES_ORDER_ITEM_ORDER_ID_SALES_ORDER_ENTITY_ID FOREIGN KEY (order_id) REFERENCES sales_order (entity_id) ON DELETE CASCADE,
  CONSTRAINT SALES_ORDER_ITEM_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE SET NULL
);

CREATE TABLE sales_order_address (
  entity_id int unsigned NOT NULL AUTO_INCREMENT,
  parent_id int unsigned DEFAULT NULL,
  customer_address_id int DEFAULT NULL,
  quote_address_id int DEFAULT NULL,
  region_id int DEFAULT NULL,
  customer_id int DEFAULT NULL,
  fax varchar(255) DEFAULT NULL,
  region varchar(255) DEFAULT NULL,
  postcode varchar(255) DEFAULT NULL,
  lastname varchar(255) DEFAULT NULL,
  street varchar(255) DEFAULT NULL,
  city varchar(255) DEFAULT NULL,
  email varchar(255) DEFAULT NULL,
  telephone varchar(255) DEFAULT NULL,
  country_id varchar(2) DEFAULT NULL,
  firstname varchar(255) DEFAULT NULL,
  address_type varchar(255) DEFAULT NULL,
  prefix varchar(255) DEFAULT NULL,
  middlename varchar(255) DEFAULT NULL,
  suffix varchar(255) DEFAULT NULL,
  company varchar(255) DEFAULT NULL,
  vat_id text DEFAULT NULL,
  vat_is_valid smallint DEFAULT NULL,
  vat_request_id text DEFAULT NULL,
  vat_request_date text DEFAULT NULL,
  vat_request_success smallint DEFAULT NULL,
  PRIMARY KEY (entity_id),
  KEY SALES_ORDER_ADDRESS_PARENT_ID (parent_id),
  CONSTRAINT SALES_ORDER_ADDRESS_PARENT_ID_SALES_ORDER_ENTITY_ID FOREIGN KEY (parent_id) REFERENCES sales_order (entity_id) ON DELETE CASCADE
);

CREATE TABLE sales_order_payment (
  entity_id int unsigned NOT NULL AUTO_INCREMENT,
  parent_id int unsigned NOT NULL,
  base_shipping_captured decimal(20,4) DEFAULT NULL,
  shipping_captured decimal(20,4) DEFAULT NULL,
  amount_refunded decimal(20,4) DEFAULT NULL,
  base_amount_paid decimal(20,4) DEFAULT NULL,
  amount_canceled decimal(20,4) DEFAULT NULL,
  base_amount_authorized decimal(20,4) DEFAULT NULL,
  base_amount_paid_online decimal(20,4) DEFAULT NULL,
  base_amount_refunded_online decimal(20,4) DEFAULT NULL,
  base_shipping_amount decimal(20,4) DEFAULT NULL,
  shipping_amount decimal(20,4) DEFAULT NULL,
  amount_paid decimal(20,4) DEFAULT NULL,
  amount_authorized decimal(20,4) DEFAULT NULL,
  base_amount_ordered decimal(20,4) DEFAULT NULL,
  base_shipping_refunded decimal(20,4) DEFAULT NULL,
  shipping_refunded decimal(20,4) DEFAULT NULL,
  base_amount_refunded decimal(20,4) DEFAULT NULL,
  amount_ordered decimal(20,4) DEFAULT NULL,
  base_amount_canceled decimal(20,4) DEFAULT NULL,
  quote_payment_id int DEFAULT NULL,
  additional_data text DEFAULT NULL,
  cc_exp_month varchar(12) DEFAULT NULL,
  cc_ss_start_year varchar(12) DEFAULT NULL,
  echeck_bank_name varchar(128) DEFAULT NULL,
  method varchar(128) DEFAULT NULL,
  cc_debug_request_body varchar(32) DEFAULT NULL,
  cc_secure_verify varchar(32) DEFAULT NULL,
  protection_eligibility varchar(32) DEFAULT NULL,
  cc_approval varchar(32) DEFAULT NULL,
  cc_last_4 varchar(100) DEFAULT NULL,
  cc_status_description varchar(32) DEFAULT NULL,
  echeck_type varchar(32) DEFAULT NULL,
  cc_debug_response_serialized varchar(32) DEFAULT NULL,
  cc_ss_start_month varchar(128) DEFAULT NULL,
  echeck_account_type varchar(255) DEFAULT NULL,
  last_trans_id varchar(255) DEFAULT NULL,
  cc_cid_status varchar(32) DEFAULT NULL,
  cc_owner varchar(128) DEFAULT NULL,
  cc_type varchar(32) DEFAULT NULL,
  po_number varchar(32) DEFAULT NULL,
  cc_exp_year varchar(4) DEFAULT NULL,
  cc_status varchar(4) DEFAULT NULL,
  echeck_routing_number varchar(32) DEFAULT NULL,
  account_status varchar(32) DEFAULT NULL,
  anet_trans_method varchar(32) DEFAULT NULL,
  cc_debug_response_body varchar(32) DEFAULT NULL,
  cc_ss_issue varchar(32) DEFAULT NULL,
  echeck_account_name varchar(32) DEFAULT NULL,
  cc_avs_status varchar(32) DEFAULT NULL,
  cc_number_enc varchar(128) DEFAULT NULL,
  cc_trans_id varchar(32) DEFAULT NULL,
  address_status varchar(32) DEFAULT NULL,
  additional_information text DEFAULT NULL,
  PRIMARY KEY (entity_id),
  KEY SALES_ORDER_PAYMENT_PARENT_ID (parent_id),
  CONSTRAINT SALES_ORDER_PAYMENT_PARENT_ID_SALES_ORDER_ENTITY_ID FOREIGN KEY (parent_id) REFERENCES sales_order (entity_id) ON DELETE CASCADE
);

CREATE TABLE sales_order_status_history (
  entity_id int unsigned NOT NULL AUTO_INCREMENT,
  parent_id int unsigned NOT NULL,
  is_customer_notified int DEFAULT NULL,
  is_visible_on_front smallint unsigned NOT NULL DEFAULT 0,
  comment text DEFAULT NULL,
  status varchar(32) DEFAULT NULL,
  created_at timestamp NOT NULL DEFAULT current_timestamp(),
  entity_name varchar(32) DEFAULT NULL,
  PRIMARY KEY (entity_id),
  KEY SALES_ORDER_STATUS_HISTORY_PARENT_ID (parent_id),
  KEY SALES_ORDER_STATUS_HISTORY_CREATED_AT (created_at),
  CONSTRAINT SALES_ORDER_STATUS_HISTORY_PARENT_ID_SALES_ORDER_ENTITY_ID FOREIGN KEY (parent_id) REFERENCES sales_order (entity_id) ON DELETE CASCADE
);

-- Quotes -----------------------------------------------------------------------------------------

CREATE TABLE quote (
  entity_id int unsigned NOT NULL AUTO_INCREMENT,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  created_at timestamp NOT NULL DEFAULT current_timestamp(),
  updated_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  converted_at timestamp NULL DEFAULT NULL,
  is_active smallint unsigned DEFAULT 1,
  is_virtual smallint unsigned DEFAULT 0,
  is_multi_shipping smallint unsigned DEFAULT 0,
  items_count int unsigned DEFAULT 0,
  items_qty decimal(12,4) DEFAULT 0.0000,
  orig_order_id int unsigned DEFAULT 0,
  store_to_base_rate decimal(12,4) DEFAULT 0.0000,
  store_to_quote_rate decimal(12,4) DEFAULT 0.0000,
  base_currency_code varchar(255) DEFAULT NULL,
  store_currency_code varchar(255) DEFAULT NULL,
  quote_currency_code varchar(255) DEFAULT NULL,
  grand_total decimal(20,4) DEFAULT 0.0000,
  base_grand_total decimal(20,4) DEFAULT 0.0000,
  checkout_method varchar(255) DEFAULT NULL,
  customer_id int unsigned DEFAULT NULL,
  customer_tax_class_id int unsigned DEFAULT NULL,
  customer_group_id int unsigned DEFAULT 0,
  customer_email varchar(255) DEFAULT NULL,
  customer_prefix varchar(40) DEFAULT NULL,
  customer_firstname varchar(255) DEFAULT NULL,
  customer_middlename varchar(40) DEFAULT NULL,
  customer_lastname varchar(255) DEFAULT NULL,
  customer_suffix varchar(40) DEFAULT NULL,
  customer_dob datetime DEFAULT NULL,
  customer_note text DEFAULT NULL,
  customer_note_notify smallint unsigned DEFAULT 1,
  customer_is_guest smallint unsigned DEFAULT 0,
  remote_ip varchar(45) DEFAULT NULL,
  applied_rule_ids varchar(255) DEFAULT NULL,
  reserved_order_id varchar(64) DEFAULT NULL,
  password_hash varchar(255) DEFAULT NULL,
  coupon_code varchar(255) DEFAULT NULL,
  global_currency_code varchar(255) DEFAULT NULL,
  base_to_global_rate decimal(20,4) DEFAULT NULL,
  base_to_quote_rate decimal(20,4) DEFAULT NULL,
  customer_taxvat varchar(255) DEFAULT NULL,
  customer_gender varchar(255) DEFAULT NULL,
  subtotal decimal(20,4) DEFAULT NULL,
  base_subtotal decimal(20,4) DEFAULT NULL,
  subtotal_with_discount decimal(20,4) DEFAULT NULL,
  base_subtotal_with_discount decimal(20,4) DEFAULT NULL,
  is_changed int unsigned DEFAULT NULL,
  trigger_recollect smallint NOT NULL DEFAULT 0,
  ext_shipping_info text DEFAULT NULL,
  gift_message_id int DEFAULT NULL,
  is_persistent smallint unsigned DEFAULT 0,
  PRIMARY KEY (entity_id),
  KEY QUOTE_CUSTOMER_ID_STORE_ID_IS_ACTIVE (customer_id, store_id, is_active),
  KEY QUOTE_STORE_ID_UPDATED_AT (store_id, updated_at),
  CONSTRAINT QUOTE_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE quote_item (
  item_id int unsigned NOT NULL AUTO_INCREMENT,
  quote_id int unsigned NOT NULL DEFAULT 0,
  created_at timestamp NOT NULL DEFAULT current_timestamp(),
  updated_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  product_id int unsigned DEFAULT NULL,
  store_id smallint unsigned DEFAULT NULL,
  parent_item_id int unsigned DEFAULT NULL,
  is_virtual smallint unsigned DEFAULT NULL,
  sku varchar(255) DEFAULT NULL,
  name varchar(255) DEFAULT NULL,
  description text DEFAULT NULL,
  applied_rule_ids text DEFAULT NULL,
  additional_data text DEFAULT NULL,
  is_qty_decimal smallint unsigned DEFAULT NULL,
  no_discount smallint unsigned DEFAULT 0,
  weight decimal(12,4) DEFAULT 0.0000,
  qty decimal(12,4) NOT NULL DEFAULT 0.0000,
  price decimal(12,4) NOT NULL DEFAULT 0.0000,
  base_price decimal(12,4) NOT NULL DEFAULT 0.0000,
  custom_price decimal(12,4) DEFAULT NULL,
  discount_percent decimal(12,4) DEFAULT 0.0000,
  discount_amount decimal(20,4) DEFAULT 0.0000,
  base_discount_amount decimal(20,4) DEFAULT 0.0000,
  tax_percent decimal(12,4) DEFAULT 0.0000,
  tax_amount decimal(20,4) DEFAULT 0.0000,
  base_tax_amount decimal(20,4) DEFAULT 0.0000,
  row_total decimal(20,4) NOT NULL DEFAULT 0.0000,
  base_row_total decimal(20,4) NOT NULL DEFAULT 0.0000,
  row_total_with_discount decimal(20,4) DEFAULT 0.0000,
  row_weight decimal(12,4) DEFAULT 0.0000,
  product_type varchar(255) DEFAULT NULL,
  base_tax_before_discount decimal(20,4) DEFAULT NULL,
  tax_before_discount decimal(20,4) DEFAULT NULL,
  original_custom_price decimal(12,4) DEFAULT NULL,
  redirect_url varchar(255) DEFAULT NULL,
  base_cost decimal(12,4) DEFAULT NULL,
  price_incl_tax decimal(20,4) DEFAULT NULL,
  base_price_incl_tax decimal(20,4) DEFAULT NULL,
  row_total_incl_tax decimal(20,4) DEFAULT NULL,
  base_row_total_incl_tax decimal(20,4) DEFAULT NULL,
  discount_tax_compensation_amount decimal(20,4) DEFAULT NULL,
  base_discount_tax_compensation_amount decimal(20,4) DEFAULT NULL,
  free_shipping smallint unsigned NOT NULL DEFAULT 0,
  gift_message_id int DEFAULT NULL,
  PRIMARY KEY (item_id),
  KEY QUOTE_ITEM_PARENT_ITEM_ID (parent_item_id),
  KEY QUOTE_ITEM_PRODUCT_ID (product_id),
  KEY QUOTE_ITEM_QUOTE_ID (quote_id),
  KEY QUOTE_ITEM_STORE_ID (store_id),
  CONSTRAINT QUOTE_ITEM_PARENT_ITEM_ID_QUOTE_ITEM_ITEM_ID FOREIGN KEY (parent_item_id) REFERENCES quote_item (item_id) ON DELETE CASCADE,
  CONSTRAINT QUOTE_ITEM_QUOTE_ID_QUOTE_ENTITY_ID FOREIGN KEY (quote_id) REFERENCES quote (entity_id) ON DELETE CASCADE,
  CONSTRAINT QUOTE_ITEM_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE SET NULL
);
