//! Column values as both sources deliver them, and as Magento's database prints them.
//!
//! Debezium (on Kafka) and the binlog carry the same MySQL values in different encodings; both
//! decode into [`Value`], whose [`Value::to_mysql_text`] is what the text protocol returns for the
//! column (`SELECT` in eav-extract): exact decimals with the column's scale, datetimes as
//! `YYYY-MM-DD HH:MM:SS[.ffffff]`, dates as `YYYY-MM-DD`. No value passes through floating point
//! unless the column is a FLOAT or DOUBLE.

use std::fmt;

/// An exact decimal: `unscaled × 10^-scale`. Holds up to 38 digits (MySQL allows 65: such a
/// value is refused when decoded, never rounded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    /// The digits as an integer.
    pub unscaled: i128,
    /// How many of them follow the point.
    pub scale: u32,
}

impl Decimal {
    /// Parses MySQL's text (`-12.3400`, `7`, `.5`); the scale is the number of digits written
    /// after the point.
    pub fn parse(text: &str) -> Option<Decimal> {
        let t = text.trim();
        let (negative, body) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if (int.is_empty() && frac.is_empty())
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let digits = format!("{int}{frac}");
        let magnitude: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        Some(Decimal {
            unscaled: if negative { -magnitude } else { magnitude },
            scale: frac.len() as u32,
        })
    }

    /// Decodes a big-endian two's-complement unscaled integer (Kafka Connect's `Decimal`, as
    /// Java's `BigInteger.toByteArray` writes it; non-minimal input such as a leading `00` is
    /// accepted). `None` when it does not fit 128 bits or is empty.
    pub fn from_twos_complement(bytes: &[u8], scale: u32) -> Option<Decimal> {
        let first = *bytes.first()?;
        let fill = if first & 0x80 != 0 { 0xff } else { 0x00 };
        // Sign-extension bytes beyond 16 carry no information; anything else does not fit.
        let significant = bytes.len().saturating_sub(16);
        if bytes[..significant].iter().any(|&b| b != fill) {
            return None;
        }
        if significant > 0 && (bytes[significant] & 0x80 != 0) != (fill == 0xff) {
            return None;
        }
        let tail = &bytes[significant..];
        let mut buf = [fill; 16];
        buf[16 - tail.len()..].copy_from_slice(tail);
        Some(Decimal {
            unscaled: i128::from_be_bytes(buf),
            scale,
        })
    }

    /// The same value at another scale, when exact (`12.50` at scale 4 is `12.5000`; at scale 1
    /// `12.5`; at scale 0 it is not exact).
    pub fn rescale(self, scale: u32) -> Option<Decimal> {
        if scale >= self.scale {
            let factor = 10i128.checked_pow(scale - self.scale)?;
            Some(Decimal {
                unscaled: self.unscaled.checked_mul(factor)?,
                scale,
            })
        } else {
            let factor = 10i128.checked_pow(self.scale - scale)?;
            (self.unscaled % factor == 0).then_some(Decimal {
                unscaled: self.unscaled / factor,
                scale,
            })
        }
    }
}

impl fmt::Display for Decimal {
    /// MySQL's text: every digit of the scale written (`129.500000`), a leading `0.` for
    /// magnitudes below one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let magnitude = self.unscaled.unsigned_abs().to_string();
        let sign = if self.unscaled < 0 { "-" } else { "" };
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{magnitude}");
        }
        let padded = format!("{magnitude:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int}.{frac}")
    }
}

/// One column's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A signed integer column (and TINYINT(1), whichever way it was sent).
    Int(i64),
    /// An unsigned BIGINT above `i64::MAX` can only be this.
    UInt(u64),
    /// DECIMAL / NUMERIC.
    Decimal(Decimal),
    /// FLOAT / DOUBLE (the only lossy column types, lossy in MySQL already).
    Float(f64),
    /// CHAR, VARCHAR, TEXT, ENUM and SET labels, JSON text.
    Text(String),
    /// BINARY, VARBINARY, BLOB.
    Bytes(Vec<u8>),
    /// BIT(n), as its number.
    Bits(u64),
    /// DATE: days since 1970-01-01.
    Date(i32),
    /// DATETIME or TIMESTAMP: microseconds since 1970-01-01 00:00:00 (UTC for TIMESTAMP, the
    /// wall clock for DATETIME, as MySQL stores them), with the column's fractional digits.
    DateTime {
        /// Microseconds since the epoch.
        micros: i64,
        /// Fractional second digits the column has (0–6).
        precision: u8,
    },
    /// TIME: microseconds since midnight (may be negative or over 24 hours, as MySQL allows).
    Time(i64),
    /// YEAR.
    Year(i32),
}

impl Value {
    /// The value as MySQL's text protocol returns it; `None` for NULL.
    pub fn to_mysql_text(&self) -> Option<String> {
        Some(match self {
            Value::Null => return None,
            Value::Int(i) => i.to_string(),
            Value::UInt(u) => u.to_string(),
            Value::Decimal(d) => d.to_string(),
            Value::Float(x) => x.to_string(),
            Value::Text(s) => s.clone(),
            Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            Value::Bits(b) => b.to_string(),
            Value::Date(days) => date_text(*days)?,
            Value::DateTime { micros, precision } => datetime_text(*micros, *precision)?,
            Value::Time(micros) => time_text(*micros),
            Value::Year(y) => format!("{y:04}"),
        })
    }

    /// The value as an integer, when it is one (ids, store ids, attribute ids).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::UInt(u) => i64::try_from(*u).ok(),
            Value::Decimal(d) if d.scale == 0 => i64::try_from(d.unscaled).ok(),
            Value::Text(s) => s.parse().ok(),
            _ => None,
        }
    }
}

const EPOCH_DAYS_FROM_CE: i32 = 719_163;

fn date_text(days: i32) -> Option<String> {
    let d = chrono::NaiveDate::from_num_days_from_ce_opt(days.checked_add(EPOCH_DAYS_FROM_CE)?)?;
    Some(d.format("%Y-%m-%d").to_string())
}

fn datetime_text(micros: i64, precision: u8) -> Option<String> {
    let t = chrono::DateTime::from_timestamp_micros(micros)?.naive_utc();
    let mut s = t.format("%Y-%m-%d %H:%M:%S").to_string();
    if precision > 0 {
        let frac = format!("{:06}", micros.rem_euclid(1_000_000));
        s.push('.');
        s.push_str(&frac[..precision.min(6) as usize]);
    }
    Some(s)
}

fn time_text(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let m = micros.unsigned_abs();
    let (secs, frac) = (m / 1_000_000, m % 1_000_000);
    let mut s = format!(
        "{sign}{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac > 0 {
        s.push_str(&format!(".{frac:06}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decimals_print_as_mysql_prints_them() {
        let d = |unscaled, scale| Decimal { unscaled, scale }.to_string();
        assert_eq!(d(129_500_000, 6), "129.500000");
        assert_eq!(d(-102_345, 4), "-10.2345");
        assert_eq!(d(5, 4), "0.0005");
        assert_eq!(d(-5, 2), "-0.05");
        assert_eq!(d(0, 4), "0.0000");
        assert_eq!(d(42, 0), "42");
    }

    #[test]
    fn the_reference_vectors_decode() {
        let b = |s: &str| base64_decode(s);
        let d = |s: &str, scale| Decimal::from_twos_complement(&b(s), scale).map(|d| d.to_string());
        assert_eq!(d("AY/J", 4).as_deref(), Some("10.2345"));
        assert_eq!(d("/nA3", 4).as_deref(), Some("-10.2345"));
        assert_eq!(d("AA==", 0).as_deref(), Some("0"));
        assert_eq!(d("B7gDYA==", 6).as_deref(), Some("129.500000"));
        assert_eq!(d("Aa2w", 4).as_deref(), Some("11.0000"));
        // 128 → 00 80 (a sign byte kept), and a redundant leading 00.
        assert_eq!(
            Decimal::from_twos_complement(&[0x00, 0x80], 0).map(|d| d.unscaled),
            Some(128)
        );
        assert_eq!(
            Decimal::from_twos_complement(&[0, 0, 1], 0).map(|d| d.unscaled),
            Some(1)
        );
        assert_eq!(Decimal::from_twos_complement(&[], 0), None);
        assert_eq!(
            Decimal::from_twos_complement(&[1; 17], 0),
            None,
            "beyond 128 bits"
        );
    }

    fn base64_decode(s: &str) -> Vec<u8> {
        crate::debezium::base64(s).expect("base64")
    }

    /// Java's `BigInteger.toByteArray`: the minimal two's-complement big-endian bytes.
    fn java_bytes(v: i128) -> Vec<u8> {
        let all = v.to_be_bytes();
        let fill = if v < 0 { 0xff } else { 0x00 };
        let mut start = 0;
        while start < 15 && all[start] == fill && (all[start + 1] & 0x80 != 0) == (v < 0) {
            start += 1;
        }
        all[start..].to_vec()
    }

    proptest! {
        #[test]
        fn twos_complement_round_trips(v in any::<i128>(), scale in 0u32..12, pad in 0usize..3) {
            let mut bytes = vec![if v < 0 { 0xff } else { 0 }; pad];
            bytes.extend(java_bytes(v));
            let d = Decimal::from_twos_complement(&bytes, scale).expect("fits");
            prop_assert_eq!(d, Decimal { unscaled: v, scale });
        }

        #[test]
        fn text_round_trips(v in -10i128.pow(30)..10i128.pow(30), scale in 0u32..12) {
            let d = Decimal { unscaled: v, scale };
            let parsed = Decimal::parse(&d.to_string()).expect("parses");
            prop_assert_eq!(parsed, d);
        }

        #[test]
        fn rescaling_up_and_back_is_exact(v in -10i128.pow(20)..10i128.pow(20), s in 0u32..6, up in 0u32..6) {
            let d = Decimal { unscaled: v, scale: s };
            let wider = d.rescale(s + up).expect("wider");
            prop_assert_eq!(wider.rescale(s), Some(d));
            // Only zeros are added, after the point.
            let (narrow, wide) = (d.to_string(), wider.to_string());
            prop_assert!(wide.starts_with(&narrow), "{} → {}", narrow, wide);
            prop_assert!(wide[narrow.len()..].trim_start_matches('.').bytes().all(|b| b == b'0'));
        }
    }

    #[test]
    fn temporals_print_as_mysql_prints_them() {
        assert_eq!(
            Value::Date(0).to_mysql_text().as_deref(),
            Some("1970-01-01")
        );
        assert_eq!(
            Value::Date(17_702).to_mysql_text().as_deref(),
            Some("2018-06-20")
        );
        let dt = |micros, precision| Value::DateTime { micros, precision }.to_mysql_text();
        assert_eq!(
            dt(1_529_476_623_000_000, 0).as_deref(),
            Some("2018-06-20 06:37:03")
        );
        assert_eq!(
            dt(1_529_476_623_120_000, 3).as_deref(),
            Some("2018-06-20 06:37:03.120")
        );
        assert_eq!(
            Value::Time(3_723_000_001).to_mysql_text().as_deref(),
            Some("01:02:03.000001")
        );
        assert_eq!(
            Value::Time(-3_600_000_000).to_mysql_text().as_deref(),
            Some("-01:00:00")
        );
    }
}
