// SPDX-License-Identifier: GPL-2.0

//! Parsing the command line's values and rendering the driver's answers as text or JSON.

use crate::abi::{self, QpState, PER_MILLION};
use serde_json::{json, Value};
use std::fmt::Write;

/// Parses a fraction of packets into parts per million: `5%`, `0.5%`, `1200ppm`, or a
/// plain fraction such as `0.05`.
pub fn parse_rate(text: &str) -> Result<u32, String> {
    let text = text.trim();
    let bad = || {
        format!("'{text}' is not a rate: give a percentage (5%), parts per million (500ppm) or a fraction (0.05)")
    };
    let (number, scale) = if let Some(n) = text.strip_suffix('%') {
        (n, 10_000.0)
    } else if let Some(n) = text.strip_suffix("ppm") {
        (n, 1.0)
    } else {
        (text, f64::from(PER_MILLION))
    };
    let value: f64 = number.trim().parse().map_err(|_| bad())?;
    let ppm = (value * scale).round();
    if !ppm.is_finite() || !(0.0..=f64::from(PER_MILLION)).contains(&ppm) {
        return Err(format!("'{text}' is not between 0 and 100%"));
    }
    Ok(ppm as u32)
}

/// Parses a queue pair number, decimal or `0x` hexadecimal.
pub fn parse_qpn(text: &str) -> Result<u32, String> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => text.parse(),
    };
    match parsed {
        Ok(qpn) if qpn <= 0xff_ffff => Ok(qpn),
        _ => Err(format!("'{text}' is not a queue pair number (24 bits)")),
    }
}

/// Renders parts per million as a percentage.
pub fn percent(ppm: u32) -> String {
    let s = format!("{:.4}", f64::from(ppm) / 10_000.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

fn qp_type(t: u32) -> &'static str {
    match t {
        1 => "GSI",
        2 => "RC",
        3 => "UC",
        4 => "UD",
        _ => "?",
    }
}

fn qp_state(s: u32) -> &'static str {
    ["RESET", "INIT", "RTR", "RTS", "SQD", "SQE", "ERR"]
        .get(s as usize)
        .copied()
        .unwrap_or("?")
}

/// The queue pair's state as text.
pub fn qp_text(device: &str, s: &QpState) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{device} qp {:#x} {} {}",
        s.qpn,
        qp_type(s.qp_type),
        qp_state(s.state)
    );
    let _ = writeln!(
        out,
        "  requester  next_psn {:#08x}  unacked_psn {:#08x}  window {}  in_flight {}",
        s.next_psn, s.unacked_psn, s.window, s.in_flight
    );
    let _ = writeln!(
        out,
        "  responder  expected_psn {:#08x}  msn {}  deferred {}",
        s.expected_psn, s.msn, s.deferred
    );
    let timer = if s.flags & abi::STATE_TIMER_ARMED != 0 {
        format!("armed, {} us left", s.timer_us)
    } else {
        "idle".into()
    };
    let rnr = if s.flags & abi::STATE_RNR_WAITING != 0 {
        "  rnr waiting"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "  engine     inbox {}  timer {timer}  ack_retries_left {}  rnr_retries_left {}{rnr}",
        s.inbox, s.ack_retries_left, s.rnr_retries_left
    );
    let _ = writeln!(
        out,
        "  packets    tx {}  rx {}  retransmitted {}  ack_timeouts {}  retry_exceeded {}",
        s.tx_packets, s.rx_packets, s.retransmitted_packets, s.ack_timeouts, s.retry_exceeded
    );
    let _ = writeln!(
        out,
        "  naks       seq_received {}  rnr_received {}  seq_sent {}  rnr_sent {}  duplicates {}",
        s.seq_naks_received,
        s.rnr_naks_received,
        s.seq_naks_sent,
        s.rnr_naks_sent,
        s.duplicate_requests
    );
    let f = &s.faults;
    if f.drop_ppm | f.duplicate_ppm | f.delay_ppm | f.corrupt_ppm == 0 && s.held == 0 {
        let _ = writeln!(out, "  faults     none");
    } else {
        let _ = writeln!(
            out,
            "  faults     drop {}  duplicate {}  delay {} ({} us)  corrupt {}  seed {}",
            percent(f.drop_ppm),
            percent(f.duplicate_ppm),
            percent(f.delay_ppm),
            f.delay_us,
            percent(f.corrupt_ppm),
            f.seed
        );
    }
    let _ = writeln!(
        out,
        "  injected   drops {}  duplicates {}  delays {}  corruptions {}  held {}",
        s.injected_drops, s.injected_duplicates, s.injected_delays, s.injected_corruptions, s.held
    );
    out
}

/// The queue pair's state as a JSON object.
pub fn qp_json(device: &str, s: &QpState) -> Value {
    let f = &s.faults;
    json!({
        "device": device,
        "qpn": s.qpn,
        "type": qp_type(s.qp_type),
        "state": qp_state(s.state),
        "next_psn": s.next_psn,
        "unacked_psn": s.unacked_psn,
        "expected_psn": s.expected_psn,
        "msn": s.msn,
        "window": s.window,
        "in_flight": s.in_flight,
        "inbox": s.inbox,
        "deferred": s.deferred,
        "timer_armed": s.flags & abi::STATE_TIMER_ARMED != 0,
        "timer_us": s.timer_us,
        "rnr_waiting": s.flags & abi::STATE_RNR_WAITING != 0,
        "ack_retries_left": s.ack_retries_left,
        "rnr_retries_left": s.rnr_retries_left,
        "tx_packets": s.tx_packets,
        "rx_packets": s.rx_packets,
        "retransmitted_packets": s.retransmitted_packets,
        "ack_timeouts": s.ack_timeouts,
        "retry_exceeded": s.retry_exceeded,
        "seq_naks_received": s.seq_naks_received,
        "rnr_naks_received": s.rnr_naks_received,
        "seq_naks_sent": s.seq_naks_sent,
        "rnr_naks_sent": s.rnr_naks_sent,
        "duplicate_requests": s.duplicate_requests,
        "faults": {
            "drop_ppm": f.drop_ppm,
            "duplicate_ppm": f.duplicate_ppm,
            "delay_ppm": f.delay_ppm,
            "corrupt_ppm": f.corrupt_ppm,
            "delay_us": f.delay_us,
            "seed": f.seed,
        },
        "injected": {
            "drops": s.injected_drops,
            "duplicates": s.injected_duplicates,
            "delays": s.injected_delays,
            "corruptions": s.injected_corruptions,
            "held": s.held,
        },
    })
}

/// The counters as text, one per line, names aligned.
pub fn counters_text(device: &str, counters: &[(String, u64)]) -> String {
    let width = counters.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let mut out = format!("{device}\n");
    for (name, value) in counters {
        let _ = writeln!(out, "  {name:<width$}  {value}");
    }
    out
}

/// The counters as a JSON object.
pub fn counters_json(device: &str, counters: &[(String, u64)]) -> Value {
    let map: serde_json::Map<String, Value> = counters
        .iter()
        .map(|(n, v)| (n.clone(), json!(v)))
        .collect();
    json!({ "device": device, "counters": map })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_in_every_notation() {
        assert_eq!(parse_rate("5%"), Ok(50_000));
        assert_eq!(parse_rate("0.5%"), Ok(5_000));
        assert_eq!(parse_rate("100%"), Ok(1_000_000));
        assert_eq!(parse_rate("1200ppm"), Ok(1_200));
        assert_eq!(parse_rate("0.05"), Ok(50_000));
        assert_eq!(parse_rate("0"), Ok(0));
        assert!(parse_rate("101%").is_err());
        assert!(parse_rate("-1%").is_err());
        assert!(parse_rate("five").is_err());
        assert!(parse_rate("nan%").is_err());
    }

    #[test]
    fn queue_pair_numbers_are_24_bits() {
        assert_eq!(parse_qpn("17"), Ok(17));
        assert_eq!(parse_qpn("0x11"), Ok(17));
        assert_eq!(parse_qpn("0xffffff"), Ok(0xff_ffff));
        assert!(parse_qpn("0x1000000").is_err());
        assert!(parse_qpn("qp").is_err());
    }

    #[test]
    fn percentages_drop_trailing_zeros() {
        assert_eq!(percent(50_000), "5%");
        assert_eq!(percent(5_000), "0.5%");
        assert_eq!(percent(1), "0.0001%");
        assert_eq!(percent(0), "0%");
    }

    fn sample() -> QpState {
        QpState {
            qpn: 0x11,
            qp_type: 2,
            state: 3,
            flags: abi::STATE_TIMER_ARMED,
            next_psn: 0x100,
            timer_us: 750,
            tx_packets: 42,
            retransmitted_packets: 3,
            faults: abi::Faults {
                drop_ppm: 50_000,
                seed: 7,
                ..Default::default()
            },
            injected_drops: 2,
            ..Default::default()
        }
    }

    #[test]
    fn text_shows_state_timer_and_faults() {
        let text = qp_text("rrxe0", &sample());
        assert!(text.starts_with("rrxe0 qp 0x11 RC RTS\n"), "{text}");
        assert!(text.contains("next_psn 0x000100"), "{text}");
        assert!(text.contains("timer armed, 750 us left"), "{text}");
        assert!(text.contains("retransmitted 3"), "{text}");
        assert!(text.contains("drop 5%"), "{text}");
        assert!(text.contains("seed 7"), "{text}");
        assert!(text.contains("drops 2"), "{text}");
        let quiet = qp_text("rrxe0", &QpState::default());
        assert!(quiet.contains("faults     none"), "{quiet}");
        assert!(quiet.contains("timer idle"), "{quiet}");
    }

    #[test]
    fn json_carries_every_number() {
        let v = qp_json("rrxe0", &sample());
        assert_eq!(v["qpn"], 17);
        assert_eq!(v["type"], "RC");
        assert_eq!(v["state"], "RTS");
        assert_eq!(v["timer_armed"], true);
        assert_eq!(v["tx_packets"], 42);
        assert_eq!(v["faults"]["drop_ppm"], 50_000);
        assert_eq!(v["injected"]["drops"], 2);
    }

    #[test]
    fn counters_render_in_order() {
        let c = vec![
            ("tx_packets".to_string(), 5),
            ("retransmitted_packets".to_string(), 1),
        ];
        let text = counters_text("rrxe0", &c);
        assert_eq!(
            text,
            "rrxe0\n  tx_packets             5\n  retransmitted_packets  1\n"
        );
        let v = counters_json("rrxe0", &c);
        assert_eq!(v["counters"]["tx_packets"], 5);
        assert_eq!(v["device"], "rrxe0");
    }
}
