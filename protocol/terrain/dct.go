package terrain

import "math"

// Tables shared by the encoder and decoder, built once at start-up
// (PROTOCOL.md 4.4 and 4.5). Natural index k = v*16 + u, with u the
// horizontal (x, column) frequency and v the vertical (y, row) frequency.
var (
	// cosTab[u][n] = cos((2n+1)·u·π/32).
	cosTab [N][N]float64
	// icosTab[u][n] = s(u)·cosTab[u][n] with s(0) = 1/√2, s(u>0) = 1: the
	// inverse transform's basis.
	icosTab [N][N]float64
	// dequant[k] = 1 + 2(u+v): the quantization step of coefficient k.
	dequant [N * N]float64
	// fwdScale[k] = (2/N)·s(u)·s(v): scales the raw forward sums to the
	// orthonormal DCT-II.
	fwdScale [N * N]float64
	// zigzag[k] is the stream position of natural coefficient k;
	// unzigzag[z] is the natural index at stream position z.
	zigzag   [N * N]uint8
	unzigzag [N * N]uint8
)

func init() {
	s := func(u int) float64 {
		if u == 0 {
			return 1 / math.Sqrt2
		}
		return 1
	}
	for u := range N {
		for n := range N {
			c := math.Cos(float64(2*n+1) * float64(u) * math.Pi / (2 * N))
			cosTab[u][n] = c
			icosTab[u][n] = s(u) * c
		}
	}
	for v := range N {
		for u := range N {
			dequant[v*N+u] = float64(1 + 2*(u+v))
			fwdScale[v*N+u] = 2.0 / N * s(u) * s(v)
		}
	}
	buildZigzag()
	for k := range fwdScale {
		theoreticalUnits += fwdScale[k] * dequant[k]
	}
}

// buildZigzag walks the 16×16 grid in JPEG-style zigzag order (PROTOCOL.md
// 4.4 step 5): (0,0), (1,0), (0,1), (0,2), (1,1), (2,0), ...
func buildZigzag() {
	i, j := 0, 0 // i = u (column), j = v (row)
	diag, right := false, true
	for count := 0; i < N && j < N; count++ {
		zigzag[j*N+i] = uint8(count)
		unzigzag[count] = uint8(j*N + i)
		switch {
		case !diag && right:
			if i < N-1 {
				i++
			} else {
				j++
			}
			right, diag = false, true
		case !diag:
			if j < N-1 {
				j++
			} else {
				i++
			}
			right, diag = true, true
		case right: // up-right diagonal
			i++
			j--
			if i == N-1 || j == 0 {
				diag = false
			}
		default: // down-left diagonal
			i--
			j++
			if j == N-1 || i == 0 {
				diag = false
			}
		}
	}
}

// forwardDCT transforms the normalised samples b (b[j*16+i], j row, i
// column) into orthonormal DCT-II coefficients c (c[v*16+u]). tmp is
// scratch space.
func forwardDCT(c, b, tmp *[N * N]float64) {
	// Rows: tmp[j][u] = Σ_i b[j][i]·cos[u][i].
	for j := range N {
		row := b[j*N : j*N+N]
		for u := range N {
			ct := &cosTab[u]
			var sum float64
			for i := range N {
				sum += float64(row[i] * ct[i]) // no fused multiply-add: same bits on every platform
			}
			tmp[j*N+u] = sum
		}
	}
	// Columns: c[v][u] = scale · Σ_j tmp[j][u]·cos[v][j].
	for v := range N {
		ct := &cosTab[v]
		for u := range N {
			var sum float64
			for j := range N {
				sum += float64(tmp[j*N+u] * ct[j])
			}
			c[v*N+u] = sum * fwdScale[v*N+u]
		}
	}
}

// inverseDCT turns dequantised coefficients f (f[v*16+u]) back into samples
// out (out[j*16+i]). tmp is scratch space. Columns that are entirely zero
// (common: most high frequencies are) are skipped.
func inverseDCT(out, f, tmp *[N * N]float64) {
	// Over v: tmp[n][u] = Σ_v f[v][u]·icos[v][n].
	var colNonZero [N]bool
	for k, x := range f {
		if x != 0 {
			colNonZero[k%N] = true
		}
	}
	for u := range N {
		if !colNonZero[u] {
			for n := range N {
				tmp[n*N+u] = 0
			}
			continue
		}
		for n := range N {
			var sum float64
			for v := range N {
				sum += f[v*N+u] * icosTab[v][n]
			}
			tmp[n*N+u] = sum
		}
	}
	// Over u, with the 2/N factor: out[n][m] = (2/N) Σ_u tmp[n][u]·icos[u][m].
	for n := range N {
		row := tmp[n*N : n*N+N]
		for m := range N {
			var sum float64
			for u := range N {
				if colNonZero[u] {
					sum += row[u] * icosTab[u][m]
				}
			}
			out[n*N+m] = sum * (2.0 / N)
		}
	}
}
