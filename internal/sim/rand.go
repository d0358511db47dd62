package sim

import (
	"math"
	"math/rand/v2"
)

// mix is splitmix64's finalizer: a fast, well-distributed 64-bit hash step.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hash combines values into one 64-bit hash.
func hash(vs ...uint64) uint64 {
	h := uint64(0x6a09e667f3bcc909)
	for _, v := range vs {
		h = mix(h ^ v)
	}
	return h
}

// Domains keep the hashes of different uses apart.
const (
	domCatalog uint64 = iota + 1
	domCustomer
	domDay
	domMessage
	domSearch
	domOrder
	domDevice
	domSchedule
)

// newRand returns a generator determined by the values.
func newRand(vs ...uint64) *rand.Rand {
	h := hash(vs...)
	return rand.New(rand.NewPCG(h, mix(h^0xdeadbeefcafebabe)))
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// pick returns an index drawn with the given weights (all >= 0, sum > 0).
func pick(r *rand.Rand, w []float64) int {
	sum := 0.0
	for _, v := range w {
		sum += v
	}
	x := r.Float64() * sum
	for i, v := range w {
		if x < v {
			return i
		}
		x -= v
	}
	return len(w) - 1
}

// poisson draws a Poisson variate (Knuth for small means, normal approximation above 30).
func poisson(r *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 30 {
		v := int(math.Round(mean + math.Sqrt(mean)*r.NormFloat64()))
		return max(v, 0)
	}
	l := math.Exp(-mean)
	k, p := 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// gamma draws a Gamma(shape, 1) variate (Marsaglia and Tsang).
func gamma(r *rand.Rand, shape float64) float64 {
	if shape < 1 {
		return gamma(r, shape+1) * math.Pow(r.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// beta draws a Beta(a, b) variate.
func beta(r *rand.Rand, a, b float64) float64 {
	x := gamma(r, a)
	y := gamma(r, b)
	if x+y == 0 {
		return 0.5
	}
	return x / (x + y)
}

const hexDigits = "0123456789abcdef"

// appendUUID appends a version-4-shaped UUID made from two hashes.
func appendUUID(b []byte, h1, h2 uint64) []byte {
	var raw [16]byte
	for i := 0; i < 8; i++ {
		raw[i] = byte(h1 >> (56 - 8*i))
		raw[8+i] = byte(h2 >> (56 - 8*i))
	}
	raw[6] = raw[6]&0x0f | 0x40
	raw[8] = raw[8]&0x3f | 0x80
	for i, c := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&15])
	}
	return b
}

// appendHex appends n hex digits of h.
func appendHex(b []byte, h uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		b = append(b, hexDigits[(h>>(4*uint(i)))&15])
	}
	return b
}
