//! Debezium's events as Debezium emits them (`../shared/reference/debezium-events.md` §8, with
//! schemas on and off, and every type of §5), decoded into change events whose values print as
//! Magento's database prints them. Expected values are worked out by hand from the reference's
//! vectors, not by the decoder.

use ficus_cdc_sync::debezium::{DecodeError, Format};
use ficus_cdc_sync::{Catalog, ColumnType, Op, Record, Value};

const BARE: Format = Format {
    schemas: false,
    decimal_strings: false,
};
const WRAPPED: Format = Format {
    schemas: true,
    decimal_strings: false,
};

fn int() -> ColumnType {
    ColumnType::Integer {
        unsigned: false,
        boolean: false,
    }
}

fn uint() -> ColumnType {
    ColumnType::Integer {
        unsigned: true,
        boolean: false,
    }
}

/// Magento's tables of the examples, as information_schema describes them.
fn catalog() -> Catalog {
    let mut c = Catalog::new();
    c.insert(
        "magento",
        "catalog_product_entity_decimal",
        vec![
            ("value_id".into(), int()),
            ("attribute_id".into(), uint()),
            ("store_id".into(), uint()),
            ("entity_id".into(), uint()),
            ("value".into(), ColumnType::Decimal { scale: 6 }),
        ],
    );
    c.insert(
        "magento",
        "inventory_source_item",
        vec![
            ("source_item_id".into(), uint()),
            ("source_code".into(), ColumnType::Text),
            ("sku".into(), ColumnType::Text),
            ("quantity".into(), ColumnType::Decimal { scale: 4 }),
            ("status".into(), uint()),
        ],
    );
    c.insert(
        "magento",
        "catalog_product_entity",
        vec![
            ("entity_id".into(), uint()),
            ("attribute_set_id".into(), uint()),
            ("type_id".into(), ColumnType::Text),
            ("sku".into(), ColumnType::Text),
            ("has_options".into(), int()),
            ("required_options".into(), uint()),
            ("created_at".into(), ColumnType::Timestamp { precision: 0 }),
            ("updated_at".into(), ColumnType::Timestamp { precision: 0 }),
        ],
    );
    c.insert(
        "magento",
        "catalogrule_product_price",
        vec![("rule_product_price_id".into(), uint())],
    );
    c
}

fn change(format: &Format, json: &str) -> ficus_cdc_sync::Change {
    match format.decode(Some(json.as_bytes()), &catalog()) {
        Ok(Record::Change(c)) => *c,
        other => panic!("{other:?}"),
    }
}

fn texts(row: &Option<ficus_cdc_sync::Row>) -> Vec<(String, Option<String>)> {
    row.as_ref()
        .expect("row")
        .iter()
        .map(|(c, v)| (c.clone(), v.to_mysql_text()))
        .collect()
}

fn s(pairs: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    pairs
        .iter()
        .map(|(c, v)| (c.to_string(), v.map(str::to_string)))
        .collect()
}

const CREATE: &str = r#"{"before":null,"after":{"value_id":9001,"attribute_id":77,"store_id":0,"entity_id":42,"value":"B7gDYA=="},
 "source":{"version":"3.2.0.Final","connector":"mysql","name":"m2","ts_ms":1750413600000,"snapshot":"false","db":"magento","sequence":null,"ts_us":1750413600000000,"ts_ns":1750413600000000000,"table":"catalog_product_entity_decimal","server_id":1,"gtid":null,"file":"binlog.000042","pos":18712,"row":0,"thread":311,"query":null},
 "transaction":null,"op":"c","ts_ms":1750413600412,"ts_us":1750413600412345,"ts_ns":1750413600412345678}"#;

#[test]
fn a_create_without_schemas_takes_the_scale_from_the_catalog() {
    let c = change(&BARE, CREATE);
    assert_eq!(c.op, Op::Create);
    assert_eq!(c.before, None);
    assert_eq!(
        texts(&c.after),
        s(&[
            ("value_id", Some("9001")),
            ("attribute_id", Some("77")),
            ("store_id", Some("0")),
            ("entity_id", Some("42")),
            ("value", Some("129.500000")),
        ])
    );
    let src = &c.source;
    assert_eq!(
        (
            src.db.as_str(),
            src.table.as_str(),
            src.file.as_str(),
            src.pos,
            src.row
        ),
        (
            "magento",
            "catalog_product_entity_decimal",
            "binlog.000042",
            18712,
            0
        )
    );
    assert_eq!(
        (src.ts_ms, src.server_id, src.snapshot, src.gtid.as_deref()),
        (1750413600000, 1, false, None)
    );
    assert_eq!(c.transaction, None);
}

const UPDATE_WITH_SCHEMA: &str = r#"{"schema":{"type":"struct","optional":false,"name":"m2.magento.inventory_source_item.Envelope","version":2,"fields":[
{"type":"struct","optional":true,"name":"m2.magento.inventory_source_item.Value","field":"before","fields":[
 {"type":"int64","optional":false,"field":"source_item_id"},{"type":"string","optional":false,"field":"source_code"},
 {"type":"string","optional":false,"field":"sku"},
 {"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"4","connect.decimal.precision":"12"},"field":"quantity"},
 {"type":"int32","optional":false,"field":"status"}]},
{"type":"struct","optional":true,"name":"m2.magento.inventory_source_item.Value","field":"after","fields":[
 {"type":"int64","optional":false,"field":"source_item_id"},{"type":"string","optional":false,"field":"source_code"},
 {"type":"string","optional":false,"field":"sku"},
 {"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"4","connect.decimal.precision":"12"},"field":"quantity"},
 {"type":"int32","optional":false,"field":"status"}]},
{"type":"struct","optional":false,"name":"io.debezium.connector.mysql.Source","version":1,"field":"source","fields":[
 {"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},
 {"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},
 {"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"},
 {"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},
 {"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},
 {"type":"string","optional":true,"field":"table"},{"type":"int64","optional":false,"field":"server_id"},
 {"type":"string","optional":true,"field":"gtid"},{"type":"string","optional":false,"field":"file"},
 {"type":"int64","optional":false,"field":"pos"},{"type":"int32","optional":false,"field":"row"},
 {"type":"int64","optional":true,"field":"thread"},{"type":"string","optional":true,"field":"query"}]},
{"type":"struct","optional":true,"name":"event.block","version":1,"field":"transaction","fields":[
 {"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},
 {"type":"int64","optional":false,"field":"data_collection_order"}]},
{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},
{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"}]},
"payload":{
 "before":{"source_item_id":5012,"source_code":"default","sku":"24-MB01","quantity":"Aa2w","status":1},
 "after":{"source_item_id":5012,"source_code":"default","sku":"24-MB01","quantity":"AY/J","status":1},
 "source":{"version":"3.2.0.Final","connector":"mysql","name":"m2","ts_ms":1750413661123,"snapshot":"false","db":"magento","sequence":null,"ts_us":1750413661123456,"ts_ns":1750413661123456000,"table":"inventory_source_item","server_id":1,"gtid":"3e11fa47-71ca-11e1-9e33-c80aa9429562:2337","file":"binlog.000107","pos":20455,"row":0,"thread":318,"query":null},
 "transaction":{"id":"3e11fa47-71ca-11e1-9e33-c80aa9429562:2337","total_order":2,"data_collection_order":1},
 "op":"u","ts_ms":1750413661340,"ts_us":1750413661340112,"ts_ns":1750413661340112907}}"#;

#[test]
fn an_update_with_schemas_takes_the_scale_from_the_schema() {
    // An empty catalog: the schema alone must do.
    let c = match WRAPPED.decode(Some(UPDATE_WITH_SCHEMA.as_bytes()), &Catalog::new()) {
        Ok(Record::Change(c)) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(c.op, Op::Update);
    let row = |q: &str| {
        s(&[
            ("source_item_id", Some("5012")),
            ("source_code", Some("default")),
            ("sku", Some("24-MB01")),
            ("quantity", Some(q)),
            ("status", Some("1")),
        ])
    };
    assert_eq!(texts(&c.before), row("11.0000"));
    assert_eq!(texts(&c.after), row("10.2345"));
    assert_eq!(
        c.source.gtid.as_deref(),
        Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:2337")
    );
    let t = c.transaction.expect("transaction");
    assert_eq!(
        (t.id.as_str(), t.total_order, t.data_collection_order),
        ("3e11fa47-71ca-11e1-9e33-c80aa9429562:2337", 2, 1)
    );
}

#[test]
fn a_delete_then_its_tombstone() {
    let delete = r#"{"before":{"source_item_id":5013,"source_code":"default","sku":"24-MB02","quantity":"AA==","status":0},"after":null,
 "source":{"version":"3.2.0.Final","connector":"mysql","name":"m2","ts_ms":1750413700000,"snapshot":"false","db":"magento","sequence":null,"ts_us":1750413700000000,"ts_ns":1750413700000000000,"table":"inventory_source_item","server_id":1,"gtid":null,"file":"binlog.000042","pos":21877,"row":0,"thread":318,"query":null},
 "transaction":null,"op":"d","ts_ms":1750413700215,"ts_us":1750413700215004,"ts_ns":1750413700215004311}"#;
    let c = change(&BARE, delete);
    assert_eq!(c.op, Op::Delete);
    assert_eq!(c.after, None);
    assert_eq!(
        texts(&c.before),
        s(&[
            ("source_item_id", Some("5013")),
            ("source_code", Some("default")),
            ("sku", Some("24-MB02")),
            ("quantity", Some("0.0000")),
            ("status", Some("0")),
        ])
    );
    for format in [BARE, WRAPPED] {
        assert_eq!(format.decode(None, &catalog()), Ok(Record::Tombstone));
        assert_eq!(
            format.decode(Some(b"null"), &catalog()),
            Ok(Record::Tombstone)
        );
    }
}

#[test]
fn a_snapshot_read_with_zoned_timestamps() {
    let read = r#"{"before":null,"after":{"entity_id":42,"attribute_set_id":4,"type_id":"simple","sku":"24-MB01","has_options":0,"required_options":0,"created_at":"2024-03-01T09:15:00Z","updated_at":"2025-06-19T17:42:05Z"},
 "source":{"version":"3.2.0.Final","connector":"mysql","name":"m2","ts_ms":1750413100517,"snapshot":"true","db":"magento","sequence":null,"ts_us":1750413100517000,"ts_ns":1750413100517000000,"table":"catalog_product_entity","server_id":0,"gtid":null,"file":"binlog.000042","pos":15330,"row":0,"thread":null,"query":null},
 "transaction":null,"op":"r","ts_ms":1750413100519,"ts_us":1750413100519208,"ts_ns":1750413100519208771}"#;
    let c = change(&BARE, read);
    assert_eq!(c.op, Op::Read);
    assert!(c.source.snapshot);
    assert_eq!(c.source.server_id, 0);
    let after = texts(&c.after);
    assert_eq!(
        after[6],
        ("created_at".into(), Some("2024-03-01 09:15:00".into()))
    );
    assert_eq!(
        after[7],
        ("updated_at".into(), Some("2025-06-19 17:42:05".into()))
    );
    // The legacy v1 struct's boolean, and null while streaming.
    for (snapshot, want) in [
        ("true", true),
        ("false", false),
        ("null", false),
        ("\"last\"", true),
        ("\"incremental\"", true),
    ] {
        let json = read.replace(r#""snapshot":"true""#, &format!(r#""snapshot":{snapshot}"#));
        assert_eq!(change(&BARE, &json).source.snapshot, want, "{snapshot}");
    }
}

#[test]
fn a_truncate_has_no_rows() {
    let truncate = r#"{"before":null,"after":null,
 "source":{"version":"3.2.0.Final","connector":"mysql","name":"m2","ts_ms":1750413760000,"snapshot":"false","db":"magento","sequence":null,"ts_us":1750413760000000,"ts_ns":1750413760000000000,"table":"catalogrule_product_price","server_id":1,"gtid":null,"file":"binlog.000042","pos":23040,"row":0,"thread":322,"query":null},
 "transaction":null,"op":"t","ts_ms":1750413760108,"ts_us":1750413760108733,"ts_ns":1750413760108733020}"#;
    let c = change(&BARE, truncate);
    assert_eq!((c.op, c.before, c.after), (Op::Truncate, None, None));
}

#[test]
fn bad_events_are_named() {
    let bad = |format: &Format, json: &str| {
        format
            .decode(Some(json.as_bytes()), &catalog())
            .expect_err(json)
    };
    assert_eq!(
        bad(&BARE, &CREATE.replace(r#""op":"c""#, r#""op":"m""#)),
        DecodeError::UnknownOp("m".into())
    );
    assert!(matches!(bad(&BARE, "{not json"), DecodeError::Shape(_)));
    assert!(matches!(
        bad(&BARE, &CREATE.replace("catalog_product_entity_decimal", "no_such_table")),
        DecodeError::UnknownTable(t) if t == "magento.no_such_table"
    ));
    let e = bad(&BARE, &CREATE.replace("B7gDYA==", "not*base64"));
    assert!(
        matches!(&e, DecodeError::Value { column, .. } if column == "value"),
        "{e}"
    );
    // A wrapped event read as bare has no envelope at its top.
    assert!(matches!(
        bad(&BARE, UPDATE_WITH_SCHEMA),
        DecodeError::Shape(_)
    ));
    assert!(matches!(bad(&WRAPPED, CREATE), DecodeError::Shape(_)));
}

/// A table with one column of each of §5's types, and its events without schemas.
fn types_catalog() -> Catalog {
    let mut c = Catalog::new();
    c.insert(
        "magento",
        "types",
        vec![
            ("d".into(), ColumnType::Date),
            ("dt0".into(), ColumnType::DateTime { precision: 0 }),
            ("dt6".into(), ColumnType::DateTime { precision: 6 }),
            ("ts".into(), ColumnType::Timestamp { precision: 0 }),
            ("t".into(), ColumnType::Time),
            (
                "flag".into(),
                ColumnType::Integer {
                    unsigned: false,
                    boolean: true,
                },
            ),
            ("big".into(), uint()),
            ("bits".into(), ColumnType::Bit { length: 10 }),
            ("bit1".into(), ColumnType::Bit { length: 1 }),
            ("y".into(), ColumnType::Year),
            ("blob".into(), ColumnType::Binary),
            ("price".into(), ColumnType::Decimal { scale: 4 }),
            ("zero".into(), ColumnType::DateTime { precision: 0 }),
        ],
    );
    c
}

fn types_event(after: &str) -> String {
    format!(
        r#"{{"before":null,"after":{after},"source":{{"connector":"mariadb","name":"m2","ts_ms":1750413600000,"snapshot":"false","db":"magento","table":"types","server_id":1,"gtid":"0-1-2337","file":"mariadb-bin.000003","pos":4,"row":2}},"op":"c","ts_ms":1750413600100}}"#
    )
}

#[test]
fn every_type_decodes_as_magentos_database_prints_it() {
    let after = r#"{"d":17702,"dt0":1529476623000,"dt6":1529476623123456,"ts":"2018-06-20T13:37:03Z","t":3723000000,"flag":true,"big":"AP//////////","bits":"AwI=","bit1":false,"y":2024,"blob":"aGk=","price":"AY/J","zero":null}"#;
    let c = match BARE.decode(Some(types_event(after).as_bytes()), &types_catalog()) {
        Ok(Record::Change(c)) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(c.source.gtid.as_deref(), Some("0-1-2337"), "MariaDB's GTID");
    assert_eq!(c.source.row, 2);
    assert_eq!(
        texts(&c.after),
        s(&[
            ("d", Some("2018-06-20")),
            ("dt0", Some("2018-06-20 06:37:03")),
            ("dt6", Some("2018-06-20 06:37:03.123456")),
            ("ts", Some("2018-06-20 13:37:03")),
            ("t", Some("01:02:03")),
            ("flag", Some("1")),
            // 2^64 − 1 as a precise decimal: 00 FF×8.
            ("big", Some("18446744073709551615")),
            // BIT(10) b'1000000011' → little-endian 03 02.
            ("bits", Some("515")),
            ("bit1", Some("0")),
            ("y", Some("2024")),
            ("blob", Some("hi")),
            ("price", Some("10.2345")),
            ("zero", None),
        ])
    );
    let after = c.after.expect("after");
    assert_eq!(after[6].1, Value::UInt(u64::MAX));
    assert_eq!(after[7].1, Value::Bits(0b10_0000_0011));

    // TINYINT(1) as a number; a negative `long` in an UNSIGNED column is refused, naming the fix.
    let after = r#"{"flag":1,"big":-1}"#;
    let e = BARE
        .decode(Some(types_event(after).as_bytes()), &types_catalog())
        .expect_err("negative");
    assert!(
        e.to_string()
            .contains("bigint.unsigned.handling.mode=precise"),
        "{e}"
    );
    let after = r#"{"flag":0,"big":7}"#;
    match BARE.decode(Some(types_event(after).as_bytes()), &types_catalog()) {
        Ok(Record::Change(c)) => assert_eq!(
            texts(&c.after),
            s(&[("flag", Some("0")), ("big", Some("7"))])
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn decimals_as_strings_and_as_numbers_stay_exact() {
    let strings = Format {
        schemas: false,
        decimal_strings: true,
    };
    let digits = types_event(r#"{"price":"1234.5600"}"#);
    match strings.decode(Some(digits.as_bytes()), &types_catalog()) {
        Ok(Record::Change(c)) => assert_eq!(texts(&c.after), s(&[("price", Some("1234.5600"))])),
        other => panic!("{other:?}"),
    }
    // decimal.format=NUMERIC: more digits than a double holds, kept exactly, at the scale.
    let numeric = types_event(r#"{"price":12345678901234.5678}"#);
    for format in [&BARE, &strings] {
        match format.decode(Some(numeric.as_bytes()), &types_catalog()) {
            Ok(Record::Change(c)) => {
                assert_eq!(
                    texts(&c.after),
                    s(&[("price", Some("12345678901234.5678"))])
                )
            }
            other => panic!("{other:?}"),
        }
    }
    let short = types_event(r#"{"price":7.5}"#);
    match BARE.decode(Some(short.as_bytes()), &types_catalog()) {
        Ok(Record::Change(c)) => assert_eq!(texts(&c.after), s(&[("price", Some("7.5000"))])),
        other => panic!("{other:?}"),
    }
}

#[test]
fn transaction_metadata_with_and_without_schemas() {
    let end = r#"{"status":"END","id":"0-1-2337","event_count":"3","data_collections":[{"data_collection":"magento.catalog_product_entity","event_count":1},{"data_collection":"magento.catalog_product_entity_varchar","event_count":"2"}],"ts_ms":1750413661340}"#;
    let t = BARE.decode_transaction(end.as_bytes()).expect("end");
    assert!(!t.begin);
    assert_eq!(t.id, "0-1-2337");
    assert_eq!(t.event_count, Some(3));
    assert_eq!(
        t.data_collections,
        [
            ("magento.catalog_product_entity".to_string(), 1),
            ("magento.catalog_product_entity_varchar".to_string(), 2)
        ]
    );
    let begin = r#"{"schema":{"type":"struct","fields":[]},"payload":{"status":"BEGIN","id":"file=mariadb-bin.000003,pos=4","event_count":null,"data_collections":null,"ts_ms":1}}"#;
    let t = WRAPPED.decode_transaction(begin.as_bytes()).expect("begin");
    assert!(t.begin);
    assert_eq!(
        (t.id.as_str(), t.event_count),
        ("file=mariadb-bin.000003,pos=4", None)
    );
    assert!(
        BARE.decode_transaction(br#"{"status":"MIDDLE","id":"x"}"#)
            .is_err()
    );
}
