//! The checks before anything moves: Magento's binlog is what cdc-sync needs (on, ROW, FULL row
//! image, a server id), its retention outlasts the back-fill, the user may read the binlog, the
//! domain's tables are there, and every target answers. Every problem is reported, each with
//! what to do ("binlog_format is STATEMENT; set ROW").

use std::time::Duration;

use mysql_async::prelude::Queryable;

use crate::http;
use crate::playbook::{Playbook, Preflight};
use crate::runner;
use crate::verify::{self, Domain};

/// The tables a domain's extract reads.
fn tables(domain: Domain) -> &'static [&'static str] {
    match domain {
        Domain::Catalog => &[
            "eav_attribute",
            "store",
            "catalog_product_entity",
            "catalog_product_entity_varchar",
            "catalog_product_website",
            "catalog_category_entity",
            "catalog_category_product",
        ],
        Domain::Customer => &[
            "eav_attribute",
            "customer_entity",
            "customer_address_entity",
        ],
        Domain::Order => &[
            "sales_order",
            "sales_order_item",
            "sales_order_address",
            "sales_order_payment",
        ],
    }
}

/// The table whose rows the back-fill time is estimated from.
fn main_table(domain: Domain) -> &'static str {
    match domain {
        Domain::Catalog => "catalog_product_entity",
        Domain::Customer => "customer_entity",
        Domain::Order => "sales_order",
    }
}

/// Runs every check; `Ok(summary)` or every problem found.
pub async fn check(p: &Playbook, s: &Preflight, backfill: bool) -> Result<String, Vec<String>> {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    match magento(p, s, &mut notes).await {
        Ok(mut found) => problems.append(&mut found),
        Err(e) => problems.push(e),
    }
    if let Err(e) = verify::connect(&p.settings.service_db).await {
        problems.push(format!("the {} service's database: {e}", p.domain.name()));
    }
    if let Some(db) = &p.settings.id_map_db
        && let Err(e) = verify::connect(db).await
    {
        problems.push(format!("the id map's database: {e}"));
    }
    if let (Some(url), Some(token)) = (&p.settings.proxy_admin, &p.settings.proxy_token) {
        let auth = format!("Bearer {token}");
        match http::request(
            "GET",
            &format!("{}/flags", url.trim_end_matches('/')),
            &[("Authorization", &auth)],
            "",
            Duration::from_secs(5),
        ) {
            Ok(a) if a.status == 200 => notes.push("ficus-proxy's admin API answers".to_owned()),
            Ok(a) => problems.push(format!(
                "ficus-proxy's admin API at {url}: {} {}",
                a.status,
                a.body.trim()
            )),
            Err(e) => problems.push(format!("ficus-proxy's admin API: {e}")),
        }
    }
    if backfill {
        let mut tools = vec![
            "eav-extract".to_owned(),
            format!("ficus-{}", p.domain.name()),
        ];
        if p.settings.id_map_db.is_some() {
            tools.push("id-map".into());
        }
        for t in tools {
            let path = runner::tool(p, &t);
            if !path.exists() {
                problems.push(format!(
                    "{} is missing (build it: cargo build --release -p ficus-eav-extract -p ficus-services -p ficus-id-map, or set settings.bin_dir)",
                    path.display()
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(notes.join("; "))
    } else {
        Err(problems)
    }
}

async fn magento(
    p: &Playbook,
    s: &Preflight,
    notes: &mut Vec<String>,
) -> Result<Vec<String>, String> {
    let dsn =
        ficus_id_map::magento::MagentoDsn::parse(&p.settings.magento).map_err(|e| e.to_string())?;
    let mut conn = dsn.connect().await.map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    let q = |e: mysql_async::Error| format!("Magento ({}): {e}", dsn.masked());
    let (log_bin, format, image, server_id): (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<u64>,
    ) = conn
        .query_first("SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@server_id")
        .await
        .map_err(q)?
        .unwrap_or((None, None, None, None));
    let on = matches!(log_bin.as_deref(), Some("1" | "ON"));
    if !on {
        problems.push("the binlog is off (log_bin); turn it on (log_bin, binlog_format=ROW) and restart MariaDB/MySQL".to_owned());
    }
    match format.as_deref() {
        Some("ROW") => {}
        Some(f) => problems.push(format!("binlog_format is {f}; set ROW")),
        None => problems.push("binlog_format is unknown; set ROW".into()),
    }
    match image.as_deref() {
        Some("FULL") => {}
        Some(i) => problems.push(format!("binlog_row_image is {i}; set FULL")),
        None => {}
    }
    if server_id.unwrap_or(0) == 0 {
        problems.push("server_id is 0; set a non-zero server_id (replication needs one)".into());
    }
    // GTID: reported, not required (cdc-sync follows file and position either way).
    let gtid: Option<String> = conn
        .query_first("SELECT @@gtid_current_pos")
        .await
        .ok()
        .flatten();
    notes.push(match gtid {
        Some(g) if !g.is_empty() => format!("MariaDB GTID position {g}"),
        _ => "no GTID position (cdc-sync uses file and offset)".into(),
    });
    // Retention against the expected back-fill time.
    let seconds: Option<u64> = match conn
        .query_first("SELECT @@binlog_expire_logs_seconds")
        .await
    {
        Ok(v) => v,
        Err(_) => conn
            .query_first::<f64, _>("SELECT @@expire_logs_days")
            .await
            .ok()
            .flatten()
            .map(|d| (d * 86_400.0) as u64),
    };
    let present: Vec<String> = conn
        .query("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
        .await
        .map_err(q)?;
    for t in tables(p.domain) {
        if !present.iter().any(|x| x == t) {
            problems.push(format!(
                "Magento's table {t} is missing: is this Magento's database?"
            ));
        }
    }
    let main = main_table(p.domain);
    if present.iter().any(|x| x == main) {
        let rows: u64 = conn
            .query_first(format!("SELECT COUNT(*) FROM `{main}`"))
            .await
            .map_err(q)?
            .unwrap_or(0);
        let expected = rows as f64 / s.expected_rate.max(1) as f64;
        match seconds {
            Some(0) | None => notes.push(format!("{rows} rows in {main}; binlogs are kept until purged by hand")),
            Some(keep) if (keep as f64) < 2.0 * expected + 3600.0 => problems.push(format!(
                "binlog retention is {:.1} h but the back-fill of {rows} {main} rows is expected to take {:.1} h at {} rows/s: \
                 raise binlog_expire_logs_seconds to at least {:.0}",
                keep as f64 / 3600.0,
                expected / 3600.0,
                s.expected_rate,
                2.0 * expected + 3600.0
            )),
            Some(keep) => notes.push(format!(
                "binlog retention {:.1} h covers the back-fill ({rows} rows, about {:.0} s)",
                keep as f64 / 3600.0,
                expected
            )),
        }
    }
    // Replication privileges: reading the binlog needs REPLICATION SLAVE (REPLICA), its position
    // REPLICATION CLIENT (BINLOG MONITOR on MariaDB).
    let grants: Vec<String> = conn.query("SHOW GRANTS").await.map_err(q)?;
    let all = grants.join(" ").to_ascii_uppercase();
    let everything = all.contains("ALL PRIVILEGES ON *.*");
    let may_read =
        everything || all.contains("REPLICATION SLAVE") || all.contains("REPLICATION REPLICA");
    if !may_read {
        problems.push(format!(
            "{} may not read the binlog: GRANT REPLICATION SLAVE ON *.* TO that user",
            dsn.masked()
        ));
    }
    let may_locate = everything
        || all.contains("REPLICATION CLIENT")
        || all.contains("BINLOG MONITOR")
        || all.contains("SUPER");
    if !may_locate {
        problems.push(format!(
            "{} may not read the binlog position: GRANT REPLICATION CLIENT (BINLOG MONITOR on MariaDB) ON *.* TO that user",
            dsn.masked()
        ));
    }
    let _ = conn.disconnect().await;
    if on && problems.is_empty() {
        notes.insert(0, "binlog ROW/FULL".into());
    }
    Ok(problems)
}
