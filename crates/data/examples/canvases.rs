//! How long generating canvases takes: `cargo run --release -p cnnkit-data --example canvases`.
//!
//! Loads Fashion-MNIST (found locally, as `FashionMnist::load` does), then times 10,000
//! training canvases in three settings and prints one line each. The times are not
//! asserted anywhere: they depend on the machine and its load. Measured on the shared
//! 2-core machine (2026-12-02, release build, load average 2 to 3): 0.12-0.3 s for one
//! object on 64x64, 0.2-0.36 s for 1-3 objects, 1.0-1.2 s for 96x96 with 2-4 scaled
//! objects (most of it bilinear resizing of items whose placement is then rejected for
//! overlapping).

use std::time::Instant;

use cnnkit_data::canvas::{CanvasConfig, CanvasSet, Part, Resize};
use cnnkit_data::FashionMnist;

fn main() -> Result<(), cnnkit_data::Error> {
    let start = Instant::now();
    let data = FashionMnist::load()?;
    println!(
        "Fashion-MNIST loaded in {:.2} s",
        start.elapsed().as_secs_f64()
    );
    let settings = [
        ("64x64, 1 object", CanvasConfig::default()),
        (
            "64x64, 1-3 objects, max IoU 0.1",
            CanvasConfig::default().objects(1, 3).max_iou(0.1),
        ),
        (
            "96x96, 2-4 objects, scales 0.75-1.5 bilinear, max IoU 0.1",
            CanvasConfig::default()
                .size(96, 96)
                .objects(2, 4)
                .scale(0.75, 1.5)
                .resize(Resize::Bilinear)
                .max_iou(0.1),
        ),
    ];
    for (what, config) in settings {
        let start = Instant::now();
        let set = CanvasSet::generate(&data, Part::Train, 10_000, &config)?;
        let secs = start.elapsed().as_secs_f64();
        let objects: usize = set.objects().iter().map(Vec::len).sum();
        println!(
            "10,000 canvases ({what}): {secs:.3} s, {objects} objects, images() {:?}",
            set.images().dim()
        );
    }
    Ok(())
}
