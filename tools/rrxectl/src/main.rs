// SPDX-License-Identifier: GPL-2.0

//! rrxectl: inspect and steer rrxe soft-RoCE devices through the driver's own uverbs methods.

mod abi;
mod device;
mod format;

use clap::{Parser, Subcommand};
use device::Device;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "rrxectl",
    version,
    about = "Inspect and steer rrxe soft-RoCE devices",
    long_about = "Reads an rrxe device's counters and its queue pairs' live transport state, \
                  and injects faults into a queue pair's packets, through the rrxe driver's own \
                  uverbs methods. Queue pairs are given by number (rdma res show qp); reading \
                  them and injecting faults needs CAP_NET_ADMIN."
)]
struct Cli {
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show the device's counters: those of `rdma statistic`, drops by reason included.
    Stats {
        /// The rrxe device, e.g. rrxe0.
        device: String,
        /// Only the packets dropped, by reason.
        #[arg(long)]
        drops: bool,
    },
    /// Show a queue pair's transport state: PSNs, requests in flight, timer, inbox, counts.
    Qp {
        device: String,
        /// The queue pair's number, decimal or 0x-hexadecimal.
        #[arg(value_parser = format::parse_qpn)]
        qpn: u32,
        /// Show the state again every SECONDS (default 1) until interrupted.
        #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "1")]
        watch: Option<f64>,
        /// With --watch, stop after COUNT readings.
        #[arg(long, requires = "watch")]
        count: Option<u64>,
        /// Start the queue pair's counts again from zero after each reading, so that each
        /// shows what happened since the last.
        #[arg(long)]
        reset_counts: bool,
    },
    /// Inject faults into a queue pair's outgoing packets; with no fault given, clear them.
    Fault {
        device: String,
        #[arg(value_parser = format::parse_qpn)]
        qpn: u32,
        /// Drop this fraction of the packets (5%, 500ppm, 0.05).
        #[arg(long, value_parser = format::parse_rate, default_value = "0")]
        drop: u32,
        /// Send this fraction of the packets twice.
        #[arg(long, value_parser = format::parse_rate, default_value = "0")]
        duplicate: u32,
        /// Hold back this fraction of the packets for --delay-us.
        #[arg(long, value_parser = format::parse_rate, default_value = "0")]
        delay: u32,
        /// How long a delayed packet is held, in microseconds (at most 1000000).
        #[arg(long, default_value_t = 1000)]
        delay_us: u32,
        /// Flip one bit in this fraction of the packets.
        #[arg(long, value_parser = format::parse_rate, default_value = "0")]
        corrupt: u32,
        /// The seed of the generator that picks the packets: the same seed and traffic
        /// fault the same packets.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn run(cli: Cli) -> Result<(), String> {
    let err = |e: device::Error| e.to_string();
    match cli.command {
        Command::Stats { device, drops } => {
            let dev = Device::open(&device).map_err(err)?;
            let counters = dev.counters(drops).map_err(err)?;
            match cli.json {
                true => println!("{}", format::counters_json(dev.name(), &counters)),
                false => print!("{}", format::counters_text(dev.name(), &counters)),
            }
        }
        Command::Qp {
            device,
            qpn,
            watch,
            count,
            reset_counts,
        } => {
            let dev = Device::open(&device).map_err(err)?;
            let interval = match watch {
                Some(s) if !(s.is_finite() && s > 0.0) => {
                    return Err(format!(
                        "--watch takes a positive number of seconds, not {s}"
                    ))
                }
                Some(s) => Some(Duration::from_secs_f64(s)),
                None => None,
            };
            let mut shown = 0u64;
            loop {
                let state = dev.qp(qpn, reset_counts).map_err(err)?;
                match cli.json {
                    true => println!("{}", format::qp_json(dev.name(), &state)),
                    false => print!("{}", format::qp_text(dev.name(), &state)),
                }
                shown += 1;
                let Some(interval) = interval else { break };
                if count.is_some_and(|c| shown >= c) {
                    break;
                }
                std::thread::sleep(interval);
            }
        }
        Command::Fault {
            device,
            qpn,
            drop,
            duplicate,
            delay,
            delay_us,
            corrupt,
            seed,
        } => {
            let dev = Device::open(&device).map_err(err)?;
            let faults = abi::Faults {
                drop_ppm: drop,
                duplicate_ppm: duplicate,
                delay_ppm: delay,
                corrupt_ppm: corrupt,
                delay_us,
                reserved: 0,
                seed,
            };
            let total =
                u64::from(drop) + u64::from(duplicate) + u64::from(delay) + u64::from(corrupt);
            if total > u64::from(abi::PER_MILLION) {
                return Err("the faults add up to more than every packet".into());
            }
            dev.set_faults(qpn, &faults).map_err(err)?;
            let state = dev.qp(qpn, false).map_err(err)?;
            match cli.json {
                true => println!("{}", format::qp_json(dev.name(), &state)),
                false => print!("{}", format::qp_text(dev.name(), &state)),
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rrxectl: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn fault_takes_rates_and_seed() {
        let cli = Cli::try_parse_from([
            "rrxectl", "fault", "rrxe0", "0x11", "--drop", "5%", "--seed", "7",
        ])
        .unwrap();
        match cli.command {
            Command::Fault {
                device,
                qpn,
                drop,
                duplicate,
                seed,
                ..
            } => {
                assert_eq!(
                    (device.as_str(), qpn, drop, duplicate, seed),
                    ("rrxe0", 17, 50_000, 0, 7)
                );
            }
            _ => panic!("not a fault command"),
        }
        assert!(
            Cli::try_parse_from(["rrxectl", "fault", "rrxe0", "17", "--drop", "150%"]).is_err()
        );
    }

    #[test]
    fn watch_defaults_to_one_second_and_count_needs_it() {
        let cli =
            Cli::try_parse_from(["rrxectl", "--json", "qp", "rrxe0", "5", "--watch"]).unwrap();
        assert!(cli.json);
        match cli.command {
            Command::Qp { watch, count, .. } => assert_eq!((watch, count), (Some(1.0), None)),
            _ => panic!("not a qp command"),
        }
        assert!(Cli::try_parse_from(["rrxectl", "qp", "rrxe0", "5", "--count", "2"]).is_err());
        let cli = Cli::try_parse_from(["rrxectl", "qp", "rrxe0", "5", "--reset-counts"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Qp {
                reset_counts: true,
                ..
            }
        ));
        let cli = Cli::try_parse_from(["rrxectl", "stats", "rrxe0", "--drops"]).unwrap();
        assert!(matches!(cli.command, Command::Stats { drops: true, .. }));
        assert!(Cli::try_parse_from(["rrxectl", "qp", "rrxe0"]).is_err());
    }
}
