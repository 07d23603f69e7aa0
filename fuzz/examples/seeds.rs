//! Writes the seed corpora: `seeds [DIR]` puts each target's seeds in `DIR/<target>/` (default
//! `corpus`). Seeds are valid encodings; the fuzzer mutates them from there.

fn main() -> std::io::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "corpus".into()));
    for (target, seeds) in copnet_fuzz::seeds() {
        let out = dir.join(target);
        std::fs::create_dir_all(&out)?;
        for (i, seed) in seeds.iter().enumerate() {
            std::fs::write(out.join(format!("seed-{i:02}")), seed)?;
        }
        println!("{target}: {} seeds", seeds.len());
    }
    Ok(())
}
