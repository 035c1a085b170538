//! Rendering for people (aligned text) and scripts (`--json`, one object per line), and progress
//! spinners on stderr that stay hidden off a terminal or under `--json`.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A spinner for a long step, or a hidden one.
pub fn spinner(message: &str, json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(message.to_string());
    pb.enable_steady_tick(Duration::from_millis(100));
    pb
}

/// A progress bar over `total` items (with rate and ETA), or a hidden one off a terminal or
/// under `--json`.
pub fn bar(total: u64, unit: &str, json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {unit} ({{per_sec}}, {{eta}} left)"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// Prints one JSON value on its own line.
pub fn json_line(v: &serde_json::Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

/// Bytes in human units.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Prints `info` as aligned text.
pub fn print_info(info: &qabbadb::Info) -> anyhow::Result<()> {
    let mut o = std::io::stdout().lock();
    writeln!(
        o,
        "series            {} live, {} deleted (until compact)",
        info.series, info.deleted
    )?;
    writeln!(
        o,
        "points            {}  (lengths {}..={})",
        info.points, info.min_len, info.max_len
    )?;
    writeln!(
        o,
        "pieces            {}  ({:.1} points per piece)",
        info.pieces,
        info.points as f64 / info.pieces.max(1) as f64
    )?;
    writeln!(o, "symbols           {}", info.symbols)?;
    writeln!(
        o,
        "bytes on disk     {} ({})",
        info.bytes,
        bytes(info.bytes)
    )?;
    writeln!(o, "bits per point    {:.3}", info.bits_per_point)?;
    writeln!(
        o,
        "ratio             {:.1}x vs float64, {:.1}x vs float32",
        info.ratio_vs_f64, info.ratio_vs_f32
    )?;
    writeln!(
        o,
        "rmse              {:.6} (original units); mean RMSE/std {:.4}",
        info.rmse, info.mean_relative_rmse
    )?;
    writeln!(o, "max abs error     {:.6}", info.max_abs_err)?;
    writeln!(o, "lossless series   {}", info.lossless_series)?;
    if info.corrected_series > 0 {
        writeln!(
            o,
            "corrected series  {} (symbols and levels that bring them within the budget)",
            info.corrected_series
        )?;
    }
    if let Some(&raw) = info.sections.get("raw") {
        writeln!(
            o,
            "raw values        {} ({:.2} bits per value) kept for get --raw and exact answers over the originals",
            bytes(raw),
            raw as f64 * 8.0 / info.points.max(1) as f64
        )?;
    }
    if let Some(&res) = info.sections.get("residuals") {
        writeln!(
            o,
            "residuals         {} ({:.2} bits per value) bound every value within {} of the original",
            bytes(res),
            res as f64 * 8.0 / info.points.max(1) as f64,
            info.params.codec.max_error.unwrap_or(0.0)
        )?;
    }
    writeln!(
        o,
        "symbol blocks     {} packed, {} zstd, {} LZW, {} rANS",
        info.blocks.packed, info.blocks.zstd, info.blocks.lzw, info.blocks.rans
    )?;
    writeln!(
        o,
        "sections          {}",
        serde_json::to_string(&info.sections)?
    )?;
    writeln!(o, "params            {}", info.params.to_json())?;
    if let Some(a) = info.fitted_alpha {
        writeln!(o, "fitted alpha      {a}")?;
    }
    writeln!(
        o,
        "format version    {} (generation {})",
        info.format_version, info.generation
    )?;
    writeln!(o, "segments          {}", info.segments.len())?;
    for s in &info.segments {
        writeln!(
            o,
            "  {}  ids {}..={}  {} series, {} deleted, {}",
            s.file,
            s.first_id,
            s.last_id,
            s.series,
            s.deleted,
            bytes(s.bytes)
        )?;
    }
    Ok(())
}

/// `println!` that returns an error instead of panicking when stdout is closed (a closed pipe
/// then ends the program quietly with exit code 0).
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($t)*)?;
    }};
}
