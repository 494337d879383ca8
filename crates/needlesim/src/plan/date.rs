//! Calendar dates for the planner: ISO `YYYY-MM-DD`, proleptic Gregorian, no time zone.
//!
//! A date is a day number (days since 1970-01-01) so that adding days and comparing are integer
//! operations. Conversion uses the civil-from-days / days-from-civil algorithms of Howard
//! Hinnant ("chrono-Compatible Low-Level Date Algorithms"). Years 1900-2200 are accepted, which
//! covers any consultation and any medication history a patient file can hold.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

/// Earliest and latest accepted years.
pub const MIN_YEAR: i32 = 1900;
pub const MAX_YEAR: i32 = 2200;

fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = (y - era * 400) as u32;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i32 - 719_468
}

fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u32;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i32 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days in month `m` (1-12) of year `y`.
pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

impl Date {
    /// A date from year, month (1-12) and day; `None` if it does not exist or is outside
    /// [`MIN_YEAR`]-[`MAX_YEAR`].
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Date> {
        if !(MIN_YEAR..=MAX_YEAR).contains(&y) || !(1..=12).contains(&m) {
            return None;
        }
        if d == 0 || d > days_in_month(y, m) {
            return None;
        }
        Some(Date(days_from_civil(y, m, d)))
    }

    /// Parses `YYYY-MM-DD`. The error says what is wrong.
    pub fn parse(s: &str) -> Result<Date, String> {
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) || !digits(5..7) {
            return Err("is not a date written YYYY-MM-DD".into());
        }
        if !digits(8..10) {
            return Err("is not a date written YYYY-MM-DD".into());
        }
        let y: i32 = s[0..4].parse().map_err(|_| "bad year".to_string())?;
        let m: u32 = s[5..7].parse().map_err(|_| "bad month".to_string())?;
        let d: u32 = s[8..10].parse().map_err(|_| "bad day".to_string())?;
        if !(MIN_YEAR..=MAX_YEAR).contains(&y) {
            return Err(format!("year {y} is outside {MIN_YEAR}-{MAX_YEAR}"));
        }
        if !(1..=12).contains(&m) {
            return Err(format!("month {m} does not exist"));
        }
        Date::from_ymd(y, m, d).ok_or_else(|| format!("day {d} does not exist in {y}-{m:02}"))
    }

    /// Year, month, day.
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    /// The day `n` days later (earlier for negative `n`).
    pub fn add_days(self, n: i64) -> Date {
        Date((i64::from(self.0) + n).clamp(i64::from(i32::MIN / 2), i64::from(i32::MAX / 2)) as i32)
    }

    /// The same day of the month `n` months later; the last day of the month when that day
    /// does not exist (31 January + 1 month = 28/29 February).
    pub fn add_months(self, n: i32) -> Date {
        let (y, m, d) = self.ymd();
        let total = y * 12 + (m as i32 - 1) + n;
        let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
        let nd = d.min(days_in_month(ny, nm));
        Date(days_from_civil(ny, nm, nd))
    }

    /// Days from `self` to `other` (positive when `other` is later).
    pub fn days_until(self, other: Date) -> i64 {
        i64::from(other.0) - i64::from(self.0)
    }

    /// Day of the week, 0 = Monday.
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday (3).
        (self.0 + 3).rem_euclid(7) as u32
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse(&s).map_err(|e| serde::de::Error::custom(format!("`{s}` {e}")))
    }
}

impl JsonSchema for Date {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Date".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date",
            "description": "A calendar date, YYYY-MM-DD"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_arithmetic() {
        let d = Date::parse("2026-11-21").unwrap();
        assert_eq!(d.to_string(), "2026-11-21");
        assert_eq!(d.add_days(10).to_string(), "2026-12-01");
        assert_eq!(d.add_months(3).to_string(), "2027-02-21");
        assert_eq!(
            Date::parse("2027-01-31").unwrap().add_months(1).to_string(),
            "2027-02-28"
        );
        assert_eq!(
            Date::parse("2028-01-31").unwrap().add_months(1).to_string(),
            "2028-02-29"
        );
        assert_eq!(Date::parse("1970-01-01").unwrap().weekday(), 3);
        assert_eq!(d.days_until(d.add_days(-5)), -5);
        // Every accepted day round-trips.
        let start = Date::from_ymd(MIN_YEAR, 1, 1).unwrap();
        let end = Date::from_ymd(MAX_YEAR, 12, 31).unwrap();
        for i in 0..=start.days_until(end) {
            let x = start.add_days(i);
            let (y, m, dd) = x.ymd();
            assert_eq!(Date::from_ymd(y, m, dd), Some(x));
        }
    }

    #[test]
    fn rejects_bad_dates() {
        for s in [
            "2026-02-30",
            "2026-13-01",
            "2026-00-10",
            "26-11-21",
            "2026/11/21",
            "1800-01-01",
            "2026-1-1",
            "",
            "２０２６-11-21",
        ] {
            assert!(Date::parse(s).is_err(), "{s}");
        }
        assert!(Date::parse("2024-02-29").is_ok());
        assert!(Date::parse("2100-02-29").is_err());
    }
}
