-- Adobe Commerce (EE) content staging: the tables that differ from CE (reference §1.11), written by
-- the ficus project. Entity tables get row_id as primary key, entity_id from a sequence table, and
-- created_in/updated_in; value tables key on row_id. Applied after ce.sql replaces same-named tables.

CREATE TABLE sequence_product (
  sequence_value int unsigned NOT NULL AUTO_INCREMENT,
  PRIMARY KEY (sequence_value)
);

CREATE TABLE sequence_catalog_category (
  sequence_value int unsigned NOT NULL AUTO_INCREMENT,
  PRIMARY KEY (sequence_value)
);

CREATE TABLE staging_update (
  id bigint NOT NULL,
  start_time datetime NOT NULL,
  name varchar(255) NOT NULL,
  description text DEFAULT NULL,
  rollback_id bigint DEFAULT NULL,
  is_campaign smallint DEFAULT NULL,
  is_rollback smallint DEFAULT NULL,
  moved_to bigint DEFAULT NULL,
  oldId bigint DEFAULT NULL,
  PRIMARY KEY (id),
  KEY STAGING_UPDATE_IS_CAMPAIGN (is_campaign),
  KEY STAGING_UPDATE_GRID (id, start_time)
);

CREATE TABLE flag (
  flag_id int unsigned NOT NULL AUTO_INCREMENT,
  flag_code varchar(255) NOT NULL,
  state smallint unsigned NOT NULL DEFAULT 0,
  flag_data mediumtext DEFAULT NULL,
  last_update timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  PRIMARY KEY (flag_id),
  KEY FLAG_LAST_UPDATE (last_update)
);


CREATE TABLE catalog_product_entity (
  row_id int unsigned NOT NULL AUTO_INCREMENT,
  entity_id int unsigned NOT NULL,
  created_in bigint unsigned NOT NULL DEFAULT 1,
  updated_in bigint unsigned NOT NULL DEFAULT 2147483647,
  attribute_set_id smallint unsigned NOT NULL DEFAULT 0,
  type_id varchar(32) NOT NULL DEFAULT 'simple',
  sku varchar(64) NOT NULL,
  has_options smallint NOT NULL DEFAULT 0,
  required_options smallint unsigned NOT NULL DEFAULT 0,
  created_at timestamp NOT NULL DEFAULT current_timestamp(),
  updated_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  PRIMARY KEY (row_id),
  KEY CATALOG_PRODUCT_ENTITY_ATTRIBUTE_SET_ID (attribute_set_id),
  KEY CATALOG_PRODUCT_ENTITY_SKU (sku),
  KEY CATALOG_PRODUCT_ENTITY_ENTITY_ID_CREATED_IN_UPDATED_IN (entity_id, created_in, updated_in),
  KEY CATALOG_PRODUCT_ENTITY_CREATED_IN (created_in),
  KEY CATALOG_PRODUCT_ENTITY_UPDATED_IN (updated_in),
  CONSTRAINT CATALOG_PRODUCT_ENTITY_ENTITY_ID_SEQUENCE_PRODUCT_SEQUENCE_VALUE FOREIGN KEY (entity_id) REFERENCES sequence_product (sequence_value) ON DELETE CASCADE
);

CREATE TABLE catalog_product_entity_int (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  row_id int unsigned NOT NULL,
  value int DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_PRODUCT_ENTITY_INT_ROW_ID_ATTRIBUTE_ID_STORE_ID (row_id, attribute_id, store_id),
  KEY CATALOG_PRODUCT_ENTITY_INT_ATTRIBUTE_ID (attribute_id),
  KEY CATALOG_PRODUCT_ENTITY_INT_STORE_ID (store_id),
  KEY CATALOG_PRODUCT_ENTITY_INT_ATTRIBUTE_ID_STORE_ID_VALUE (attribute_id, store_id, value),
  CONSTRAINT FK_43DF1883E52F69449D2B6E61C203062E FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_PRODUCT_ENTITY_INT_ROW_ID_CATALOG_PRODUCT_ENTITY_ROW_ID FOREIGN KEY (row_id) REFERENCES catalog_product_entity (row_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_PRODUCT_ENTITY_INT_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_entity_varchar (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  row_id int unsigned NOT NULL,
  value varchar(255) DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_PRODUCT_ENTITY_VARCHAR_ROW_ID_ATTRIBUTE_ID_STORE_ID (row_id, attribute_id, store_id),
  KEY CATALOG_PRODUCT_ENTITY_VARCHAR_ATTRIBUTE_ID (attribute_id),
  KEY CATALOG_PRODUCT_ENTITY_VARCHAR_STORE_ID (store_id),
  CONSTRAINT CAT_PRD_ENTT_VCHR_ATTR_ID_EAV_ATTR_ATTR_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT FK_C93CBF2305B30A63CB2908DFD6F00004 FOREIGN KEY (row_id) REFERENCES catalog_product_entity (row_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_PRODUCT_ENTITY_VARCHAR_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_entity_decimal (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  row_id int unsigned NOT NULL,
  value decimal(20,6) DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_PRODUCT_ENTITY_DECIMAL_ROW_ID_ATTRIBUTE_ID_STORE_ID (row_id, attribute_id, store_id),
  KEY CATALOG_PRODUCT_ENTITY_DECIMAL_STORE_ID (store_id),
  KEY CATALOG_PRODUCT_ENTITY_DECIMAL_ATTRIBUTE_ID (attribute_id),
  CONSTRAINT CAT_PRD_ENTT_DEC_ATTR_ID_EAV_ATTR_ATTR_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT FK_D77EAC24193301D368469E0FED2061DB FOREIGN KEY (row_id) REFERENCES catalog_product_entity (row_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_PRODUCT_ENTITY_DECIMAL_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_entity_text (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  row_id int unsigned NOT NULL,
  value mediumtext DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_PRODUCT_ENTITY_TEXT_ROW_ID_ATTRIBUTE_ID_STORE_ID (row_id, attribute_id, store_id),
  KEY CATALOG_PRODUCT_ENTITY_TEXT_ATTRIBUTE_ID (attribute_id),
  KEY CATALOG_PRODUCT_ENTITY_TEXT_STORE_ID (store_id),
  CONSTRAINT CAT_PRD_ENTT_TEXT_ATTR_ID_EAV_ATTR_ATTR_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_PRODUCT_ENTITY_TEXT_ROW_ID_CATALOG_PRODUCT_ENTITY_ROW_ID FOREIGN KEY (row_id) REFERENCES catalog_product_entity (row_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_PRODUCT_ENTITY_TEXT_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_entity_datetime (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  row_id int unsigned NOT NULL,
  value datetime DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_PRODUCT_ENTITY_DATETIME_ROW_ID_ATTRIBUTE_ID_STORE_ID (row_id, attribute_id, store_id),
  KEY CATALOG_PRODUCT_ENTITY_DATETIME_ATTRIBUTE_ID (attribute_id),
  KEY CATALOG_PRODUCT_ENTITY_DATETIME_STORE_ID (store_id),
  CONSTRAINT CAT_PRD_ENTT_DTIME_ATTR_ID_EAV_ATTR_ATTR_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT FK_C5C4219835BDB488D499D73541735F79 FOREIGN KEY (row_id) REFERENCES catalog_product_entity (row_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_PRODUCT_ENTITY_DATETIME_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_category_entity (
  row_id int unsigned NOT NULL AUTO_INCREMENT,
  entity_id int unsigned NOT NULL,
  created_in bigint unsigned NOT NULL DEFAULT 1,
  updated_in bigint unsigned NOT NULL DEFAULT 2147483647,
  attribute_set_id smallint unsigned NOT NULL DEFAULT 0,
  parent_id int unsigned NOT NULL DEFAULT 0,
  created_at timestamp NOT NULL DEFAULT current_timestamp(),
  updated_at timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  path varchar(255) NOT NULL,
  position int NOT NULL,
  level int NOT NULL DEFAULT 0,
  children_count int NOT NULL,
  PRIMARY KEY (row_id),
  KEY CATALOG_CATEGORY_ENTITY_LEVEL (level),
  KEY CATALOG_CATEGORY_ENTITY_PATH (path),
  KEY CATALOG_CATEGORY_ENTITY_ENTITY_ID_CREATED_IN_UPDATED_IN (entity_id, created_in, updated_in),
  KEY CATALOG_CATEGORY_ENTITY_CREATED_IN (created_in),
  KEY CATALOG_CATEGORY_ENTITY_UPDATED_IN (updated_in),
  CONSTRAINT FK_E55F2FE8DCF8EAAE9CE1497024B90383 FOREIGN KEY (entity_id) REFERENCES sequence_catalog_category (sequence_value) ON DELETE CASCADE
);

CREATE TABLE catalog_category_entity_int (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  row_id int unsigned NOT NULL,
  value int DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_CATEGORY_ENTITY_INT_ROW_ID_ATTRIBUTE_ID_STORE_ID (row_id, attribute_id, store_id),
  KEY CATALOG_CATEGORY_ENTITY_INT_ROW_ID (row_id),
  KEY CATALOG_CATEGORY_ENTITY_INT_ATTRIBUTE_ID (attribute_id),
  KEY CATALOG_CATEGORY_ENTITY_INT_STORE_ID (store_id),
  CONSTRAINT CAT_CTGR_ENTT_INT_ATTR_ID_EAV_ATTR_ATTR_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT FK_93946C6FA0869AD5D6B6C187CBE2A187 FOREIGN KEY (row_id) REFERENCES catalog_category_entity (row_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_CATEGORY_ENTITY_INT_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_category_entity_varchar (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  row_id int unsigned NOT NULL,
  value varchar(255) DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_CATEGORY_ENTITY_VARCHAR_ROW_ID_ATTRIBUTE_ID_STORE_ID (row_id, attribute_id, store_id),
  KEY CATALOG_CATEGORY_ENTITY_VARCHAR_ROW_ID (row_id),
  KEY CATALOG_CATEGORY_ENTITY_VARCHAR_ATTRIBUTE_ID (attribute_id),
  KEY CATALOG_CATEGORY_ENTITY_VARCHAR_STORE_ID (store_id),
  CONSTRAINT CAT_CTGR_ENTT_VCHR_ATTR_ID_EAV_ATTR_ATTR_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT FK_BB0FE1B5F43980CDB18004B63AF48F13 FOREIGN KEY (row_id) REFERENCES catalog_category_entity (row_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_CATEGORY_ENTITY_VARCHAR_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_category_entity_decimal (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  row_id int unsigned NOT NULL,
  value decimal(20,6) DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_CATEGORY_ENTITY_DECIMAL_ROW_ID_ATTRIBUTE_ID_STORE_ID (row_id, attribute_id, store_id),
  KEY CATALOG_CATEGORY_ENTITY_DECIMAL_ROW_ID (row_id),
  KEY CATALOG_CATEGORY_ENTITY_DECIMAL_ATTRIBUTE_ID (attribute_id),
  KEY CATALOG_CATEGORY_ENTITY_DECIMAL_STORE_ID (store_id),
  CONSTRAINT CAT_CTGR_ENTT_DEC_ATTR_ID_EAV_ATTR_ATTR_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT FK_6DB4A9B82B2643F84BC24B77DF19F935 FOREIGN KEY (row_id) REFERENCES catalog_category_entity (row_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_CATEGORY_ENTITY_DECIMAL_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_category_entity_text (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  row_id int unsigned NOT NULL,
  value mediumtext DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_CATEGORY_ENTITY_TEXT_ROW_ID_ATTRIBUTE_ID_STORE_ID (row_id, attribute_id, store_id),
  KEY CATALOG_CATEGORY_ENTITY_TEXT_ROW_ID (row_id),
  KEY CATALOG_CATEGORY_ENTITY_TEXT_ATTRIBUTE_ID (attribute_id),
  KEY CATALOG_CATEGORY_ENTITY_TEXT_STORE_ID (store_id),
  CONSTRAINT CAT_CTGR_ENTT_TEXT_ATTR_ID_EAV_ATTR_ATTR_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT FK_8A0C9493DB902FDD97F72D3F57ADD0F0 FOREIGN KEY (row_id) REFERENCES catalog_category_entity (row_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_CATEGORY_ENTITY_TEXT_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_category_entity_datetime (
  value_id int NOT NULL AUTO_INCREMENT,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  row_id int unsigned NOT NULL,
  value datetime DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY CATALOG_CATEGORY_ENTITY_DATETIME_ROW_ID_ATTRIBUTE_ID_STORE_ID (row_id, attribute_id, store_id),
  KEY CATALOG_CATEGORY_ENTITY_DATETIME_ROW_ID (row_id),
  KEY CATALOG_CATEGORY_ENTITY_DATETIME_ATTRIBUTE_ID (attribute_id),
  KEY CATALOG_CATEGORY_ENTITY_DATETIME_STORE_ID (store_id),
  CONSTRAINT CAT_CTGR_ENTT_DTIME_ATTR_ID_EAV_ATTR_ATTR_ID FOREIGN KEY (attribute_id) REFERENCES eav_attribute (attribute_id) ON DELETE CASCADE,
  CONSTRAINT FK_1741EF6F5BE40CD1E6730E375FD5B503 FOREIGN KEY (row_id) REFERENCES catalog_category_entity (row_id) ON DELETE CASCADE,
  CONSTRAINT CATALOG_CATEGORY_ENTITY_DATETIME_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_entity_tier_price (
  value_id int NOT NULL AUTO_INCREMENT,
  row_id int unsigned NOT NULL,
  all_groups smallint unsigned NOT NULL DEFAULT 1,
  customer_group_id int unsigned NOT NULL DEFAULT 0,
  qty decimal(12,4) NOT NULL DEFAULT 1.0000,
  value decimal(20,6) NOT NULL DEFAULT 0.000000,
  website_id smallint unsigned NOT NULL,
  percentage_value decimal(5,2) DEFAULT NULL,
  PRIMARY KEY (value_id),
  UNIQUE KEY UNQ_E8AB433B9ACB00343ABB312AD2FAB087 (row_id, all_groups, customer_group_id, qty, website_id),
  KEY CATALOG_PRODUCT_ENTITY_TIER_PRICE_CUSTOMER_GROUP_ID (customer_group_id),
  KEY CATALOG_PRODUCT_ENTITY_TIER_PRICE_WEBSITE_ID (website_id),
  CONSTRAINT CAT_PRD_ENTT_TIER_PRICE_CSTR_GROUP_ID_CSTR_GROUP_CSTR_GROUP_ID FOREIGN KEY (customer_group_id) REFERENCES customer_group (customer_group_id) ON DELETE CASCADE,
  CONSTRAINT FK_C4FB3C5A1878D168CC0269081AF1918B FOREIGN KEY (row_id) REFERENCES catalog_product_entity (row_id) ON DELETE CASCADE,
  CONSTRAINT CAT_PRD_ENTT_TIER_PRICE_WS_ID_STORE_WS_WS_ID FOREIGN KEY (website_id) REFERENCES store_website (website_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_entity_media_gallery_value (
  value_id int unsigned NOT NULL DEFAULT 0,
  store_id smallint unsigned NOT NULL DEFAULT 0,
  row_id int unsigned NOT NULL,
  label varchar(255) DEFAULT NULL,
  position int unsigned DEFAULT NULL,
  disabled smallint unsigned NOT NULL DEFAULT 0,
  record_id int unsigned NOT NULL AUTO_INCREMENT,
  PRIMARY KEY (record_id),
  KEY CATALOG_PRODUCT_ENTITY_MEDIA_GALLERY_VALUE_STORE_ID (store_id),
  KEY CATALOG_PRODUCT_ENTITY_MEDIA_GALLERY_VALUE_ROW_ID (row_id),
  KEY CATALOG_PRODUCT_ENTITY_MEDIA_GALLERY_VALUE_VALUE_ID (value_id),
  KEY CAT_PRD_ENTT_MDA_GLR_VAL_ENTT_ID_VAL_ID_STORE_ID (row_id, value_id, store_id),
  CONSTRAINT FK_B2962BC33652755EC92BAFF995E6A384 FOREIGN KEY (row_id) REFERENCES catalog_product_entity (row_id) ON DELETE CASCADE,
  CONSTRAINT CAT_PRD_ENTT_MDA_GLR_VAL_VAL_ID_CAT_PRD_ENTT_MDA_GLR_VAL_ID FOREIGN KEY (value_id) REFERENCES catalog_product_entity_media_gallery (value_id) ON DELETE CASCADE,
  CONSTRAINT CAT_PRD_ENTT_MDA_GLR_VAL_STORE_ID_STORE_STORE_ID FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_entity_media_gallery_value_to_entity (
  value_id int unsigned NOT NULL,
  row_id int unsigned NOT NULL,
  PRIMARY KEY (value_id, row_id),
  KEY CAT_PRD_ENTT_MDA_GLR_VAL_TO_ENTT_ROW_ID (row_id),
  CONSTRAINT FK_A0591605D01C3CF1A3AAF01135EB316E FOREIGN KEY (value_id) REFERENCES catalog_product_entity_media_gallery (value_id) ON DELETE CASCADE,
  CONSTRAINT FK_AAA8A85F195870CD661CE5C276DC5E34 FOREIGN KEY (row_id) REFERENCES catalog_product_entity (row_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_super_link (
  link_id int unsigned NOT NULL AUTO_INCREMENT,
  product_id int unsigned NOT NULL DEFAULT 0,
  parent_id int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (link_id),
  UNIQUE KEY CATALOG_PRODUCT_SUPER_LINK_PRODUCT_ID_PARENT_ID (product_id, parent_id),
  KEY CATALOG_PRODUCT_SUPER_LINK_PARENT_ID (parent_id),
  CONSTRAINT FK_565883C2E624DA09EC3078221B6C8D8A FOREIGN KEY (parent_id) REFERENCES catalog_product_entity (row_id) ON DELETE CASCADE,
  CONSTRAINT CAT_PRD_SPR_LNK_PRD_ID_CAT_PRD_ENTT_ENTT_ID FOREIGN KEY (product_id) REFERENCES sequence_product (sequence_value) ON DELETE CASCADE
);

CREATE TABLE catalog_product_relation (
  parent_id int unsigned NOT NULL,
  child_id int unsigned NOT NULL,
  PRIMARY KEY (parent_id, child_id),
  KEY CATALOG_PRODUCT_RELATION_CHILD_ID (child_id),
  CONSTRAINT CAT_PRD_RELATION_CHILD_ID_CAT_PRD_ENTT_ENTT_ID FOREIGN KEY (child_id) REFERENCES sequence_product (sequence_value) ON DELETE CASCADE,
  CONSTRAINT CATALOG_PRODUCT_RELATION_PARENT_ID_CATALOG_PRODUCT_ENTITY_ROW_ID FOREIGN KEY (parent_id) REFERENCES catalog_product_entity (row_id) ON DELETE CASCADE
);

CREATE TABLE catalog_product_super_attribute (
  product_super_attribute_id int unsigned NOT NULL AUTO_INCREMENT,
  product_id int unsigned NOT NULL DEFAULT 0,
  attribute_id smallint unsigned NOT NULL DEFAULT 0,
  position smallint unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (product_super_attribute_id),
  UNIQUE KEY CATALOG_PRODUCT_SUPER_ATTRIBUTE_PRODUCT_ID_ATTRIBUTE_ID (product_id, attribute_id),
  CONSTRAINT FK_2BAAAC9B24FEFC580AAC315C30E22E22 FOREIGN KEY (product_id) REFERENCES catalog_product_entity (row_id) ON DELETE CASCADE
);
