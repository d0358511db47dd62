package gbdt

import "testing"

func (m *Model) predict8(features []float32, n int, out []float32) {
	F := m.numFeatures
	out = out[:n]
	for i := range out {
		out[i] = m.base
	}
	nodes, values := m.nodes, m.values
	for t, root := range m.roots {
		depth := int(m.depths[t])
		i := 0
		for ; i+8 <= n; i += 8 {
			r0 := features[i*F : i*F+F]
			r1 := features[(i+1)*F : (i+1)*F+F]
			r2 := features[(i+2)*F : (i+2)*F+F]
			r3 := features[(i+3)*F : (i+3)*F+F]
			r4 := features[(i+4)*F : (i+4)*F+F]
			r5 := features[(i+5)*F : (i+5)*F+F]
			r6 := features[(i+6)*F : (i+6)*F+F]
			r7 := features[(i+7)*F : (i+7)*F+F]
			n0, n1, n2, n3, n4, n5, n6, n7 := root, root, root, root, root, root, root, root
			for d := 0; d < depth; d++ {
				n0 = step(&nodes[n0], r0)
				n1 = step(&nodes[n1], r1)
				n2 = step(&nodes[n2], r2)
				n3 = step(&nodes[n3], r3)
				n4 = step(&nodes[n4], r4)
				n5 = step(&nodes[n5], r5)
				n6 = step(&nodes[n6], r6)
				n7 = step(&nodes[n7], r7)
			}
			out[i] += values[n0]
			out[i+1] += values[n1]
			out[i+2] += values[n2]
			out[i+3] += values[n3]
			out[i+4] += values[n4]
			out[i+5] += values[n5]
			out[i+6] += values[n6]
			out[i+7] += values[n7]
		}
		for ; i < n; i++ {
			r := features[i*F : i*F+F]
			nd := root
			for d := 0; d < depth; d++ {
				nd = step(&nodes[nd], r)
			}
			out[i] += values[nd]
		}
	}
}

func BenchmarkPredict8(b *testing.B) {
	const F, n = 20, 100
	m := randomModel(b, 100, 6, F, 1)
	x := randomRows(n, F, 0, 5)
	out := make([]float32, n)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		m.predict8(x, n, out)
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}
