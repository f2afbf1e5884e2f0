//! Figures as text: sizes (B, KiB), rates (k, M), message counts and Gb/s.

pub(super) fn fmt_size(size: usize) -> String {
    if size >= 1024 && size % 1024 == 0 { format!("{} KiB", size / 1024) } else { format!("{size} B") }
}

pub(super) fn fmt_rate(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

pub(super) fn fmt_count(n: usize) -> String {
    if n >= 1_000_000 && n % 100_000 == 0 {
        format!("{}M", n as f64 / 1e6)
    } else if n >= 1000 && n % 100 == 0 {
        format!("{}k", n as f64 / 1e3)
    } else {
        n.to_string()
    }
}

/// Bytes per second as Gb/s.
pub(super) fn gbits(bytes_per_s: f64) -> String {
    format!("{:.2}", bytes_per_s * 8.0 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting() {
        assert_eq!(fmt_size(65536), "64 KiB");
        assert_eq!(fmt_size(100), "100 B");
        assert_eq!(fmt_rate(6_555_889.0), "6.56M");
        assert_eq!(fmt_rate(45_551.0), "45.6k");
        assert_eq!(fmt_count(10_000_000), "10M");
        assert_eq!(fmt_count(75_000), "75k");
        assert_eq!(fmt_count(1234), "1234");
    }
}
