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
// scratch space. Products are rounded before they are summed (no fused
// multiply-add), so every platform computes the same bits.
func forwardDCT(c, b, tmp *[N * N]float64) {
	// Four outputs at a time: independent sums run in parallel on the CPU,
	// while each is still added up in the same order, i = 0..15.
	// Rows, stored transposed: tmp[u][j] = Σ_i b[j][i]·cos[u][i].
	for j := range N {
		row := (*[N]float64)(b[j*N : j*N+N])
		for u := 0; u < N; u += 4 {
			c0, c1, c2, c3 := &cosTab[u], &cosTab[u+1], &cosTab[u+2], &cosTab[u+3]
			var s0, s1, s2, s3 float64
			for i, x := range row {
				s0 += float64(x * c0[i])
				s1 += float64(x * c1[i])
				s2 += float64(x * c2[i])
				s3 += float64(x * c3[i])
			}
			tmp[u*N+j], tmp[(u+1)*N+j], tmp[(u+2)*N+j], tmp[(u+3)*N+j] = s0, s1, s2, s3
		}
	}
	// Columns: c[v][u] = scale · Σ_j tmp[u][j]·cos[v][j].
	for u := range N {
		col := (*[N]float64)(tmp[u*N : u*N+N])
		for v := 0; v < N; v += 4 {
			c0, c1, c2, c3 := &cosTab[v], &cosTab[v+1], &cosTab[v+2], &cosTab[v+3]
			var s0, s1, s2, s3 float64
			for j, x := range col {
				s0 += float64(x * c0[j])
				s1 += float64(x * c1[j])
				s2 += float64(x * c2[j])
				s3 += float64(x * c3[j])
			}
			c[v*N+u] = s0 * fwdScale[v*N+u]
			c[(v+1)*N+u] = s1 * fwdScale[(v+1)*N+u]
			c[(v+2)*N+u] = s2 * fwdScale[(v+2)*N+u]
			c[(v+3)*N+u] = s3 * fwdScale[(v+3)*N+u]
		}
	}
}

// inverseDCT turns dequantised coefficients f (f[v*16+u]) back into samples
// out (out[j*16+i]). cols has bit u set when column u of f holds a non-zero
// coefficient; the work done is proportional to the non-zero coefficients
// and columns, as smooth patches have few. tmp is scratch space.
func inverseDCT(out, f, tmp *[N * N]float64, cols uint16) {
	*out = [N * N]float64{}
	for u := range N {
		if cols&(1<<u) == 0 {
			continue
		}
		// Over v, stored transposed: tmp[u][n] = Σ_v f[v][u]·icos[v][n].
		t := (*[N]float64)(tmp[u*N : u*N+N])
		*t = [N]float64{}
		for v := range N {
			c := f[v*N+u]
			if c == 0 {
				continue
			}
			ic := &icosTab[v]
			for n := range N {
				t[n] += c * ic[n]
			}
		}
		// Over u, with the 2/N factor: out[n][m] += (2/N)·tmp[u][n]·icos[u][m].
		ic := &icosTab[u]
		for n := range N {
			x := t[n] * (2.0 / N)
			o := (*[N]float64)(out[n*N : n*N+N])
			for m := range N {
				o[m] += x * ic[m]
			}
		}
	}
}
