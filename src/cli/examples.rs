//! The example invocations each `--help` ends with: runnable as written
//! from the repository root on the shipped samples (assets/), writing under
//! /tmp. `tests/cli_examples.rs` runs every one of them.

pub(crate) const GPIX: &str = "\
Examples:
  gpix quantize assets/coffee.png /tmp/coffee16.png --colors 16
  gpix filter gaussian assets/coffee.png /tmp/coffee_blur.png --sigma 3
  gpix -v devices";

pub(crate) const QUANTIZE: &str = "\
Examples:
  gpix quantize assets/coffee.png /tmp/coffee16.png --colors 16
  gpix quantize assets/coffee.png /tmp/coffee_cga.png --palette assets/cga16.gpl --dither floyd-steinberg
  gpix quantize assets/coffee.png /tmp/coffee64.png --colors 64 --method kmeans --seed 1 --index-out /tmp/coffee64_index.npy --palette-out /tmp/coffee64.gpl";

pub(crate) const LABEL_MEAN: &str = "\
Examples:
  gpix label-mean assets/coffee.png assets/coffee_blocks.png /tmp/coffee_mosaic.png
  gpix label-mean assets/coffee.png assets/coffee_blocks.png /tmp/coffee_means.npy --table /tmp/coffee_blocks.csv";

pub(crate) const GRADIENT: &str = "\
Examples:
  gpix gradient assets/coffee.png --magnitude /tmp/coffee_edges.npy
  gpix gradient assets/coffee.png --dy /tmp/coffee_dy.npy --dx /tmp/coffee_dx.npy --spacing 0.5,2 --edge-order 2
  gpix gradient assets/sobel_x.npy --dx /tmp/sobel_dx.npy --axis x --dtype float32";

pub(crate) const HESSIAN: &str = "\
Examples:
  gpix hessian assets/coffee.png --eigen /tmp/coffee_l1.npy,/tmp/coffee_l2.npy
  gpix hessian assets/coffee.png --dyy /tmp/coffee_dyy.npy --dxx /tmp/coffee_dxx.npy --stencil compact";

pub(crate) const FILTER: &str = "\
Examples:
  gpix filter uniform assets/coffee.png /tmp/coffee_box.png --size 15
  gpix filter gaussian assets/coffee.png /tmp/coffee_blur.npy --sigma 2 --mode nearest
  gpix filter correlate assets/coffee.png /tmp/coffee_sobel.npy --kernel assets/sobel_x.npy";

pub(crate) const UNIFORM: &str = "\
Examples:
  gpix filter uniform assets/coffee.png /tmp/coffee_box.png --size 15
  gpix filter uniform assets/coffee.png /tmp/coffee_box.npy --size 15,5 --mode reflect,wrap --dtype float64
  gpix filter uniform assets/coffee.png /tmp/coffee_shifted.npy --size 9 --origin 4,-4";

pub(crate) const MINIMUM: &str = "\
Examples:
  gpix filter minimum assets/coffee.png /tmp/coffee_eroded.png --size 9
  gpix filter minimum assets/coffee.png /tmp/coffee_min.npy --size 3,15 --mode constant --cval 0
  gpix filter minimum assets/coffee.png /tmp/coffee_eroded_disk.png --footprint disk:4";

pub(crate) const MAXIMUM: &str = "\
Examples:
  gpix filter maximum assets/coffee.png /tmp/coffee_dilated.png --size 9
  gpix filter maximum assets/coffee.png /tmp/coffee_max.npy --size 5 --mode nearest --dtype float64";

pub(crate) const MEDIAN: &str = "\
Examples:
  gpix filter median assets/coffee.png /tmp/coffee_median.png --size 5
  gpix filter median assets/coffee.png /tmp/coffee_median.npy --size 3,9 --mode nearest
  gpix filter median assets/coffee.png /tmp/coffee_round_median.png --footprint disk:3
  gpix filter median assets/coffee.png /tmp/coffee_cross_median.npy --footprint assets/cross_5x5.npy";

pub(crate) const RANK: &str = "\
Examples:
  gpix filter rank assets/coffee.png /tmp/coffee_rank.png --size 5 --rank 3
  gpix filter rank assets/coffee.png /tmp/coffee_second_largest.npy --size 3 --rank -2 --mode constant --cval 0";

pub(crate) const PERCENTILE: &str = "\
Examples:
  gpix filter percentile assets/coffee.png /tmp/coffee_p90.png --size 7 --percentile 90
  gpix filter percentile assets/coffee.png /tmp/coffee_p25.npy --size 5,3 --percentile 25 --dtype float64";

pub(crate) const GREY_EROSION: &str = "\
Examples:
  gpix filter grey-erosion assets/coffee.png /tmp/coffee_grey_eroded.png --footprint disk:3
  gpix filter grey-erosion assets/coffee.png /tmp/coffee_grey_eroded.npy --size 5,9 --origin 1,0";

pub(crate) const GREY_DILATION: &str = "\
Examples:
  gpix filter grey-dilation assets/coffee.png /tmp/coffee_grey_dilated.png --footprint disk:3
  gpix filter grey-dilation assets/coffee.png /tmp/coffee_grey_dilated.npy --size 4 --mode nearest";

pub(crate) const GREY_OPENING: &str = "\
Examples:
  gpix filter grey-opening assets/coffee.png /tmp/coffee_opened.png --footprint disk:5
  gpix filter grey-opening assets/coffee.png /tmp/coffee_opened.npy --footprint assets/cross_5x5.npy";

pub(crate) const GREY_CLOSING: &str = "\
Examples:
  gpix filter grey-closing assets/coffee.png /tmp/coffee_closed.png --footprint disk:5
  gpix filter grey-closing assets/coffee.png /tmp/coffee_closed.npy --size 7 --mode mirror";

pub(crate) const MORPHOLOGICAL_GRADIENT: &str = "\
Examples:
  gpix filter morphological-gradient assets/coffee.png /tmp/coffee_outline.png --footprint disk:1
  gpix filter morphological-gradient assets/coffee.png /tmp/coffee_outline.npy --size 3";

pub(crate) const WHITE_TOPHAT: &str = "\
Examples:
  gpix filter white-tophat assets/coffee.png /tmp/coffee_bright_details.png --footprint disk:7
  gpix filter white-tophat assets/coffee.png /tmp/coffee_bright_details.npy --size 15";

pub(crate) const BLACK_TOPHAT: &str = "\
Examples:
  gpix filter black-tophat assets/coffee.png /tmp/coffee_dark_details.png --footprint disk:7
  gpix filter black-tophat assets/coffee.png /tmp/coffee_dark_details.npy --size 15 --mode nearest";

pub(crate) const CORRELATE: &str = "\
Examples:
  gpix filter correlate assets/coffee.png /tmp/coffee_sobel.npy --kernel assets/sobel_x.npy
  gpix filter correlate assets/coffee.png /tmp/coffee_sobel.npy --kernel assets/sobel_x.npy --mode constant --cval 0 --method direct";

pub(crate) const CONVOLVE: &str = "\
Examples:
  gpix filter convolve assets/coffee.png /tmp/coffee_conv.npy --kernel assets/sobel_x.npy
  gpix filter convolve assets/coffee.png /tmp/coffee_conv.npy --kernel assets/sobel_x.npy --mode nearest --origin 1,0";

pub(crate) const GAUSSIAN: &str = "\
Examples:
  gpix filter gaussian assets/coffee.png /tmp/coffee_blur.png --sigma 3
  gpix filter gaussian assets/coffee.png /tmp/coffee_dx.npy --sigma 2 --order 0,1 --dtype float64
  gpix filter gaussian assets/coffee.png /tmp/coffee_blur.npy --sigma 4,1 --radius 6 --mode mirror";

pub(crate) const GAUSSIAN_LAPLACE: &str = "\
Examples:
  gpix filter gaussian-laplace assets/coffee.png /tmp/coffee_log.npy --sigma 2
  gpix filter gaussian-laplace assets/coffee.png /tmp/coffee_log.npy --sigma 1.5,3 --mode nearest";

pub(crate) const GAUSSIAN_GRADIENT_MAGNITUDE: &str = "\
Examples:
  gpix filter gaussian-gradient-magnitude assets/coffee.png /tmp/coffee_ggm.npy --sigma 2
  gpix filter gaussian-gradient-magnitude assets/coffee.png /tmp/coffee_ggm.png --sigma 1 --truncate 3";

pub(crate) const DOG: &str = "\
Examples:
  gpix filter dog assets/coffee.png /tmp/coffee_dog.npy --sigma1 1
  gpix filter dog assets/coffee.png /tmp/coffee_dog.npy --sigma1 1 --sigma2 4 --mode reflect";

pub(crate) const GABOR: &str = "\
Examples:
  gpix filter gabor assets/coffee.png /tmp/coffee_gabor.npy --frequency 0.2 --theta 0.785 --part magnitude
  gpix filter gabor assets/coffee.png /tmp/coffee_gabor.npy --frequency 0.1 --bandwidth 1.5";

pub(crate) const SOBEL: &str = "\
Examples:
  gpix filter sobel assets/coffee.png /tmp/coffee_sobel_x.npy --axis 1
  gpix filter sobel assets/coffee.png /tmp/coffee_sobel_y.npy --axis 0 --mode constant --cval 0";

pub(crate) const PREWITT: &str = "\
Examples:
  gpix filter prewitt assets/coffee.png /tmp/coffee_prewitt_x.npy --axis 1
  gpix filter prewitt assets/coffee.png /tmp/coffee_prewitt_y.npy --axis 0 --mode nearest";

pub(crate) const LAPLACE: &str = "\
Examples:
  gpix filter laplace assets/coffee.png /tmp/coffee_laplace.npy
  gpix filter laplace assets/coffee.png /tmp/coffee_laplace.npy --mode wrap,nearest --dtype float64";

pub(crate) const STATS: &str = "\
Examples:
  gpix stats assets/coffee.png --size 15 --mean /tmp/coffee_mean.npy --var /tmp/coffee_var.npy
  gpix stats assets/coffee.png --size 7,21 --std /tmp/coffee_std.npy --mode nearest";

pub(crate) const DEVICES: &str = "\
Examples:
  gpix devices
  gpix -v devices";

pub(crate) const BENCH: &str = "\
Examples:
  gpix bench quantize --size 1000x1000 --colors 16,256 --devices cpu --runs 3
  gpix bench filter --size 1000x1000 --cases uniform,stats --devices cpu --runs 3 --json /tmp/bench_filter.json";

pub(crate) const BENCH_QUANTIZE: &str = "\
Examples:
  gpix bench quantize --size 1000x1000 --colors 16,256 --devices cpu --runs 3
  gpix bench quantize --size 500x500 --colors 4096 --images smooth --devices cpu --runs 1 --json /tmp/bench_quantize.json";

pub(crate) const BENCH_LABEL_MEAN: &str = "\
Examples:
  gpix bench label-mean --size 1000x1000 --labels 1000 --devices cpu --runs 3
  gpix bench label-mean --size 500x500 --labels 100,10000 --images u8 --devices cpu --runs 1 --json /tmp/bench_labels.json";

pub(crate) const BENCH_FILTER: &str = "\
Examples:
  gpix bench filter --size 1000x1000 --cases uniform,stats --devices cpu --runs 3
  gpix bench filter --size 500x500 --cases gabor,random15 --devices cpu --runs 1 --json /tmp/bench_filter.json";

pub(crate) const BENCH_DIFF: &str = "\
Examples:
  gpix bench diff --size 1000x1000 --devices cpu --runs 3
  gpix bench diff --size 500x500 --cases gradient --devices cpu --runs 1 --json /tmp/bench_diff.json";
