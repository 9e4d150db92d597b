//! Event time as the report queries read it: `date_time` is milliseconds since the Unix epoch,
//! read in UTC.
//!
//! Flink's `DATE_FORMAT(dateTime, 'yyyy-MM-dd')`, `'HH:mm'` and `HOUR(dateTime)` become the day
//! number, the minute of the day and the hour of the day as integers. Queries group on the
//! integers (cheap to hash and compare) and format the strings only for the rows they output;
//! zero-padded `YYYY-MM-DD` and `HH:mm` strings order like the integers they are formatted
//! from, so a `max` over either gives the same answer.

/// Milliseconds in a day.
pub const DAY_MS: u64 = 86_400_000;

/// The day of `date_time`: days since 1970-01-01.
pub fn day(date_time: u64) -> u64 {
    date_time / DAY_MS
}

/// The hour of the day of `date_time`, 0 to 23.
pub fn hour(date_time: u64) -> u64 {
    date_time % DAY_MS / 3_600_000
}

/// The minute of the day of `date_time`, 0 to 1439.
pub fn minute_of_day(date_time: u64) -> u64 {
    date_time % DAY_MS / 60_000
}

/// A day number as `YYYY-MM-DD` (proleptic Gregorian calendar).
pub fn format_day(day: u64) -> String {
    let (year, month, date) = civil_from_days(day);
    format!("{year:04}-{month:02}-{date:02}")
}

/// A minute of the day as `HH:mm`.
pub fn format_minute(minute: u64) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Year, month and day of the month of a day number (Howard Hinnant's `civil_from_days`).
fn civil_from_days(day: u64) -> (u64, u64, u64) {
    let z = day + 719_468; // days since 0000-03-01
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let date = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, date)
}
