//! The fuzz targets of `fuzz/` run on stable Rust inside `cargo test`: each target function
//! replays its committed seed corpus (`fuzz/corpus/seeds/<target>/`), every regression input
//! found by fuzzing (`fuzz/regressions/<target>/`), and inputs generated here from valid seeds:
//! every truncation, bit flips at a stride, and random byte overwrites. A target panics when
//! one of its properties breaks (see `auditlog::fuzzing`).

use auditlog::fs::sim::SimRng;
use auditlog::fuzzing::{TARGETS, seed_inputs};
use std::path::{Path, PathBuf};

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    files
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Mutations of `seed`: `budget` bounds how many (the slow targets get fewer).
fn mutations(seed: &[u8], budget: usize, rng: &mut SimRng) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let stride = (seed.len() / budget.max(1)).max(1);
    for cut in (0..seed.len()).step_by(stride) {
        out.push(seed[..cut].to_vec());
    }
    let bits = seed.len() * 8;
    for bit in (0..bits).step_by((bits / budget.max(1)).max(1)) {
        let mut m = seed.to_vec();
        m[bit / 8] ^= 1 << (bit % 8);
        out.push(m);
    }
    for _ in 0..budget / 4 {
        let mut m = seed.to_vec();
        if m.is_empty() {
            break;
        }
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(m.len() as u64) as usize;
            m[at] = rng.next_u64() as u8;
        }
        out.push(m);
    }
    out
}

#[test]
fn every_target_passes_its_corpus_and_generated_inputs() {
    let mut rng = SimRng::new(0xf022);
    for (name, target) in TARGETS {
        let seeds = seed_inputs(name);
        assert!(!seeds.is_empty(), "{name} has no seeds");
        let committed = files_in(&fuzz_dir().join("corpus/seeds").join(name));
        assert!(!committed.is_empty(), "{name} has no committed seed corpus");
        let regressions = files_in(&fuzz_dir().join("regressions").join(name));
        for path in committed.iter().chain(&regressions) {
            target(&std::fs::read(path).unwrap());
        }
        let budget = match name {
            "model_ops" => 2,
            "scan_segment" => 60,
            // Opens a log per input.
            "decode_index" => 8,
            "parse_proof" | "decode_cold_segment" => 100,
            _ => 400,
        };
        let mut runs = 0;
        for seed in &seeds {
            target(seed);
            for input in mutations(seed, budget, &mut rng) {
                target(&input);
                runs += 1;
            }
        }
        println!(
            "{name}: {} corpus files, {runs} generated inputs",
            committed.len() + regressions.len()
        );
    }
}

/// Rewrites `fuzz/corpus/seeds/` from `seed_inputs` (run after changing a format).
#[test]
#[ignore = "writes the committed seed corpus"]
fn write_seed_corpus() {
    for (name, _) in TARGETS {
        let dir = fuzz_dir().join("corpus/seeds").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for (i, seed) in seed_inputs(name).iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i}")), seed).unwrap();
        }
    }
}
