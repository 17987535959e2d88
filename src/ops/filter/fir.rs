//! The CPU's one weighted-sum primitive: `out[k] = Σ_i Σ_j w[i][j] ·
//! src_i[k + j·stride]`, used for a pass along x (one source row, the
//! kernel's taps), along y (one tap per source row) and the direct 2-D
//! correlation (every tap). Outputs go in register-sized chunks with all
//! taps applied before a chunk is stored; on x86-64 a copy compiled for
//! AVX2 + FMA is chosen at run time when the CPU has them.

use super::FilterValue as Acc;

/// Outputs per chunk: enough independent accumulators to hide latency,
/// few enough to stay in registers.
const CHUNK: usize = 32;

/// `out[k] = Σ_i Σ_j taps[i·kx + j] · srcs[i][k + j·stride]`; every source
/// must hold `out.len() + (kx − 1)·stride` values.
pub(super) fn fir_rows<A: Acc>(srcs: &[&[A]], taps: &[A], kx: usize, stride: usize, out: &mut [A]) {
    debug_assert_eq!(taps.len(), srcs.len() * kx);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { fir_rows_fma(srcs, taps, kx, stride, out) };
        return;
    }
    fir_body::<A, false>(srcs, taps, kx, stride, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fir_rows_fma<A: Acc>(srcs: &[&[A]], taps: &[A], kx: usize, stride: usize, out: &mut [A]) {
    fir_body::<A, true>(srcs, taps, kx, stride, out);
}

#[inline(always)]
fn fir_body<A: Acc, const FUSED: bool>(
    srcs: &[&[A]],
    taps: &[A],
    kx: usize,
    stride: usize,
    out: &mut [A],
) {
    let n = out.len();
    let whole = n / CHUNK * CHUNK;
    for k0 in (0..whole).step_by(CHUNK) {
        let mut acc = [A::default(); CHUNK];
        for (i, src) in srcs.iter().enumerate() {
            for j in 0..kx {
                let t = taps[i * kx + j];
                let s: &[A; CHUNK] = src[k0 + j * stride..k0 + j * stride + CHUNK]
                    .try_into()
                    .unwrap_or_else(|_| unreachable!("chunk length"));
                for (a, &v) in acc.iter_mut().zip(s) {
                    *a = if FUSED { t.fused(v, *a) } else { *a + t * v };
                }
            }
        }
        out[k0..k0 + CHUNK].copy_from_slice(&acc);
    }
    for k in whole..n {
        let mut a = A::default();
        for (i, src) in srcs.iter().enumerate() {
            for j in 0..kx {
                let (t, v) = (taps[i * kx + j], src[k + j * stride]);
                a = if FUSED { t.fused(v, a) } else { a + t * v };
            }
        }
        out[k] = a;
    }
}

/// Two consecutive output rows of a direct 2-D correlation at once:
/// `out0` from `srcs[0..ky]`, `out1` from `srcs[1..=ky]` (`srcs` holds
/// `ky + 1` rows). Each source value loaded serves both rows, halving the
/// loads per multiply-add.
pub(super) fn fir_rows2<A: Acc>(
    srcs: &[&[A]],
    taps: &[A],
    kx: usize,
    stride: usize,
    out0: &mut [A],
    out1: &mut [A],
) {
    debug_assert_eq!(taps.len(), (srcs.len() - 1) * kx);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { fir_rows2_fma(srcs, taps, kx, stride, out0, out1) };
        return;
    }
    fir2_body::<A, false>(srcs, taps, kx, stride, out0, out1);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fir_rows2_fma<A: Acc>(
    srcs: &[&[A]],
    taps: &[A],
    kx: usize,
    stride: usize,
    out0: &mut [A],
    out1: &mut [A],
) {
    fir2_body::<A, true>(srcs, taps, kx, stride, out0, out1);
}

#[inline(always)]
fn madd<A: Acc, const FUSED: bool>(t: A, v: A, a: A) -> A {
    if FUSED {
        t.fused(v, a)
    } else {
        a + t * v
    }
}

#[inline(always)]
fn fir2_body<A: Acc, const FUSED: bool>(
    srcs: &[&[A]],
    taps: &[A],
    kx: usize,
    stride: usize,
    out0: &mut [A],
    out1: &mut [A],
) {
    let ky = srcs.len() - 1;
    let n = out0.len();
    let whole = n / CHUNK * CHUNK;
    for k0 in (0..whole).step_by(CHUNK) {
        let mut acc0 = [A::default(); CHUNK];
        let mut acc1 = [A::default(); CHUNK];
        for (r, src) in srcs.iter().enumerate() {
            for j in 0..kx {
                let s: &[A; CHUNK] = src[k0 + j * stride..k0 + j * stride + CHUNK]
                    .try_into()
                    .unwrap_or_else(|_| unreachable!("chunk length"));
                if r < ky {
                    let t = taps[r * kx + j];
                    for (a, &v) in acc0.iter_mut().zip(s) {
                        *a = madd::<A, FUSED>(t, v, *a);
                    }
                }
                if r > 0 {
                    let t = taps[(r - 1) * kx + j];
                    for (a, &v) in acc1.iter_mut().zip(s) {
                        *a = madd::<A, FUSED>(t, v, *a);
                    }
                }
            }
        }
        out0[k0..k0 + CHUNK].copy_from_slice(&acc0);
        out1[k0..k0 + CHUNK].copy_from_slice(&acc1);
    }
    for k in whole..n {
        let (mut a0, mut a1) = (A::default(), A::default());
        for i in 0..ky {
            for j in 0..kx {
                let t = taps[i * kx + j];
                a0 = madd::<A, FUSED>(t, srcs[i][k + j * stride], a0);
                a1 = madd::<A, FUSED>(t, srcs[i + 1][k + j * stride], a1);
            }
        }
        out0[k] = a0;
        out1[k] = a1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_every_tap_of_every_row() {
        let a: Vec<f64> = (0..100).map(f64::from).collect();
        let b: Vec<f64> = (0..100).map(|v| f64::from(v) * 0.5).collect();
        let taps = [1.0, 2.0, -1.0, 0.5];
        let mut out = vec![0.0; 70];
        fir_rows(&[&a, &b], &taps, 2, 3, &mut out);
        for (k, &o) in out.iter().enumerate() {
            let want = a[k] + 2.0 * a[k + 3] - b[k] + 0.5 * b[k + 3];
            assert!((o - want).abs() < 1e-12, "{k}: {o} vs {want}");
        }
    }

    #[test]
    fn two_rows_match_one_row_twice() {
        let rows: Vec<Vec<f64>> = (0..4)
            .map(|r| (0..90).map(|v| f64::from(v * (r + 1) % 17)).collect())
            .collect();
        let srcs: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
        let taps: Vec<f64> = (0..9).map(|t| f64::from(t) - 4.0).collect();
        let (mut a, mut b) = (vec![0.0; 70], vec![0.0; 70]);
        fir_rows2(&srcs, &taps, 3, 2, &mut a, &mut b);
        let (mut a1, mut b1) = (vec![0.0; 70], vec![0.0; 70]);
        fir_rows(&srcs[..3], &taps, 3, 2, &mut a1);
        fir_rows(&srcs[1..], &taps, 3, 2, &mut b1);
        assert_eq!(a, a1);
        assert_eq!(b, b1);
    }
}
