//! Human-readable output: aligned tables for listings, `key: value` blocks for single items.

use serde_json::Value;

/// A field of `v` as display text.
pub fn field(v: &Value, key: &str) -> String {
    match v.get(key) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

/// Prints rows of `items` under `headers`, one column per key.
pub fn table(items: &Value, columns: &[(&str, &str)]) {
    let rows: Vec<Vec<String>> = items
        .as_array()
        .map(|a| {
            a.iter()
                .map(|it| {
                    columns
                        .iter()
                        .map(|(key, _)| one_line(&field(it, key), 60))
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    if rows.is_empty() {
        println!("(none)");
        return;
    }
    let mut widths: Vec<usize> = columns.iter().map(|(_, h)| h.chars().count()).collect();
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        let last = cells.len() - 1;
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i == last {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  "));
            }
        }
        println!("{}", out.trim_end());
    };
    line(columns.iter().map(|(_, h)| h.to_string()).collect());
    for r in rows {
        line(r);
    }
}

/// Prints `label: value` for each present field.
pub fn block(v: &Value, fields: &[(&str, &str)]) {
    let width = fields.iter().map(|(_, l)| l.len()).max().unwrap_or(0);
    for (key, label) in fields {
        let text = field(v, key);
        if text.is_empty() {
            continue;
        }
        let mut lines = text.lines();
        println!("{label:>width$}: {}", lines.next().unwrap_or(""));
        for rest in lines {
            println!("{:>width$}  {rest}", "");
        }
    }
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

pub fn json(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}
