package gbdt

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Output is the transform applied to the summed tree margin by Predict.
type Output uint8

const (
	OutputIdentity Output = iota // margin as is (ranking, regression)
	OutputSigmoid                // 1/(1+e^-margin) (binary classification)
	OutputExp                    // e^margin (Poisson, gamma, Tweedie)
)

func (o Output) String() string {
	switch o {
	case OutputIdentity:
		return "identity"
	case OutputSigmoid:
		return "sigmoid"
	case OutputExp:
		return "exp"
	}
	return fmt.Sprintf("Output(%d)", uint8(o))
}

// TreeNode is one node of a tree in portable form. Node 0 is the root.
// An internal node sends a row to Left when its feature value is < Threshold, to
// Right when it is ≥ Threshold, and to Left (DefaultLeft) or Right when it is NaN.
// A leaf has Left = Right = -1 and contributes Value to the margin.
type TreeNode struct {
	Feature     int
	Threshold   float32
	Left, Right int
	DefaultLeft bool
	Value       float32 // leaf value, learning rate already applied
	Gain        float64 // loss reduction of the split (feature importance)
}

// IsLeaf reports whether the node is a leaf.
func (n TreeNode) IsLeaf() bool { return n.Left < 0 }

// flatNode is a node of the flattened model. The right child of an internal node
// is always left+1 (children are laid out breadth-first). A leaf loops back to
// itself: its threshold is NaN, so every comparison sends a row "right", to
// left+1 = itself; a traversal can thus run a fixed number of steps (the tree's
// depth) without testing for leaves. Leaf values are kept in Model.values.
type flatNode struct {
	thr  float32 // split threshold; NaN for a leaf
	feat uint32  // feature index; bit 31 set when NaN goes left
	left int32   // absolute index of the left child (self-1 for a leaf)
}

const defaultLeftBit = 1 << 31

// maxTreeDepth bounds the depth of a tree the model accepts (imported or loaded).
const maxTreeDepth = 1000

// Model is an immutable ensemble of regression trees ready for scoring. It is safe
// for concurrent use. Build one with Train, ImportXGBoostJSON or UnmarshalModel.
type Model struct {
	numFeatures  int
	base         float32 // margin every row starts from
	output       Output
	objective    string
	featureNames []string
	trees        [][]TreeNode // portable form, the source of truth for serialization

	nodes  []flatNode
	values []float32 // leaf value of each flat node (0 for internal nodes)
	roots  []int32
	depths []int32
}

// NumFeatures returns the number of features per row Predict expects.
func (m *Model) NumFeatures() int { return m.numFeatures }

// NumTrees returns the number of trees.
func (m *Model) NumTrees() int { return len(m.trees) }

// BaseScore returns the margin every prediction starts from.
func (m *Model) BaseScore() float32 { return m.base }

// Output returns the transform Predict applies to the margin.
func (m *Model) Output() Output { return m.output }

// Objective returns the name of the objective the model was trained with
// (ours, or XGBoost's such as "rank:ndcg" for an imported model).
func (m *Model) Objective() string { return m.objective }

// FeatureNames returns the feature names, if known (nil otherwise).
func (m *Model) FeatureNames() []string { return slices.Clone(m.featureNames) }

// Trees returns a copy of the trees in portable form.
func (m *Model) Trees() [][]TreeNode {
	out := make([][]TreeNode, len(m.trees))
	for i, t := range m.trees {
		out[i] = slices.Clone(t)
	}
	return out
}

// NewModel builds a model from trees in portable form. It validates every tree
// (children in range, no node reached twice, features < numFeatures, finite leaf
// values, depth ≤ 1000) and returns an error naming the first problem.
func NewModel(numFeatures int, base float32, output Output, objective string, featureNames []string, trees [][]TreeNode) (*Model, error) {
	if numFeatures < 0 || numFeatures >= defaultLeftBit {
		return nil, fmt.Errorf("cannot build model: NumFeatures=%d out of range", numFeatures)
	}
	if output > OutputExp {
		return nil, fmt.Errorf("cannot build model: unknown output transform %d", output)
	}
	if math.IsNaN(float64(base)) || math.IsInf(float64(base), 0) {
		return nil, fmt.Errorf("cannot build model: base score %v is not finite", base)
	}
	if featureNames != nil && len(featureNames) != numFeatures {
		return nil, fmt.Errorf("cannot build model: %d feature names for %d features", len(featureNames), numFeatures)
	}
	m := &Model{
		numFeatures:  numFeatures,
		base:         base,
		output:       output,
		objective:    objective,
		featureNames: slices.Clone(featureNames),
		trees:        make([][]TreeNode, len(trees)),
		roots:        make([]int32, len(trees)),
		depths:       make([]int32, len(trees)),
	}
	total := 0
	for _, t := range trees {
		total += len(t)
	}
	if total > math.MaxInt32/2 {
		return nil, fmt.Errorf("cannot build model: %d nodes is too many", total)
	}
	m.nodes = make([]flatNode, 0, total)
	m.values = make([]float32, 0, total)
	var queue []int
	var depth []int32
	for ti, t := range trees {
		if len(t) == 0 {
			return nil, fmt.Errorf("cannot build model: tree %d has no nodes", ti)
		}
		// Breadth-first from the root: a node's children get consecutive flat indexes
		// after it, nodes never reached (XGBoost's deleted nodes) are dropped.
		seen := make([]bool, len(t))
		newID := make([]int32, len(t))
		base := int32(len(m.nodes))
		queue = append(queue[:0], 0)
		depth = append(depth[:0], 0)
		seen[0] = true
		newID[0] = base
		m.nodes = append(m.nodes, flatNode{})
		m.values = append(m.values, 0)
		maxDepth := int32(0)
		for q := 0; q < len(queue); q++ {
			i := queue[q]
			nd := t[i]
			self := newID[i]
			maxDepth = max(maxDepth, depth[q])
			if nd.Left < 0 || nd.Right < 0 {
				if nd.Left >= 0 || nd.Right >= 0 {
					return nil, fmt.Errorf("cannot build model: tree %d node %d has one child (left %d, right %d)", ti, i, nd.Left, nd.Right)
				}
				if math.IsNaN(float64(nd.Value)) || math.IsInf(float64(nd.Value), 0) {
					return nil, fmt.Errorf("cannot build model: tree %d leaf %d has value %v", ti, i, nd.Value)
				}
				m.nodes[self] = flatNode{thr: float32(math.NaN()), left: self - 1}
				m.values[self] = nd.Value
				continue
			}
			if nd.Feature < 0 || nd.Feature >= numFeatures {
				return nil, fmt.Errorf("cannot build model: tree %d node %d splits on feature %d, the model has %d features", ti, i, nd.Feature, numFeatures)
			}
			if math.IsNaN(float64(nd.Threshold)) {
				return nil, fmt.Errorf("cannot build model: tree %d node %d has a NaN threshold", ti, i)
			}
			if depth[q]+1 > maxTreeDepth {
				return nil, fmt.Errorf("cannot build model: tree %d is deeper than %d", ti, maxTreeDepth)
			}
			for _, c := range []int{nd.Left, nd.Right} {
				if c >= len(t) {
					return nil, fmt.Errorf("cannot build model: tree %d node %d has child %d, the tree has %d nodes", ti, i, c, len(t))
				}
				if seen[c] {
					return nil, fmt.Errorf("cannot build model: tree %d node %d is reached twice (not a tree)", ti, c)
				}
				seen[c] = true
				newID[c] = int32(len(m.nodes))
				m.nodes = append(m.nodes, flatNode{})
				m.values = append(m.values, 0)
				queue = append(queue, c)
				depth = append(depth, depth[q]+1)
			}
			feat := uint32(nd.Feature)
			if nd.DefaultLeft {
				feat |= defaultLeftBit
			}
			m.nodes[self] = flatNode{thr: nd.Threshold, feat: feat, left: newID[nd.Left]}
		}
		// The portable copy is kept in the same breadth-first order, without
		// unreachable nodes, so that serialization round-trips exactly.
		compact := make([]TreeNode, len(m.nodes)-int(base))
		for _, i := range queue {
			nd := t[i]
			if nd.Left >= 0 {
				nd.Left = int(newID[nd.Left] - base)
				nd.Right = int(newID[nd.Right] - base)
			} else {
				nd = TreeNode{Left: -1, Right: -1, Value: nd.Value}
			}
			compact[newID[i]-base] = nd
		}
		m.trees[ti] = compact
		m.roots[ti] = base
		m.depths[ti] = maxDepth
	}
	return m, nil
}

var (
	errPredictShape = errors.New("cannot predict: features is shorter than n×NumFeatures or out is shorter than n")
	errPredictN     = errors.New("cannot predict: n is negative")
)

// Predict scores n rows. features is row-major with NumFeatures values per row
// (NaN for missing); out receives one prediction per row. It does not allocate.
// Rows are summed tree by tree in float32, in the order XGBoost uses, so imported
// models reproduce XGBoost's predictions.
func (m *Model) Predict(features []float32, n int, out []float32) error {
	if n < 0 {
		return errPredictN
	}
	F := m.numFeatures
	if len(out) < n || (F > 0 && n > len(features)/F) {
		return errPredictShape
	}
	out = out[:n]
	for i := range out {
		out[i] = m.base
	}
	if hasNaN(features[:n*F]) {
		m.accumulate(features, out)
	} else {
		m.accumulateFast(features, out)
	}
	switch m.output {
	case OutputSigmoid:
		for i, v := range out {
			out[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	case OutputExp:
		for i, v := range out {
			out[i] = float32(math.Exp(float64(v)))
		}
	}
	return nil
}

// hasNaN reports whether any value is NaN.
func hasNaN(x []float32) bool {
	for _, v := range x {
		if v != v {
			return true
		}
	}
	return false
}

// accumulate adds every tree's leaf value to out, 4 rows at a time so that the
// four independent walks overlap in the CPU. Rows may contain NaN.
func (m *Model) accumulate(features, out []float32) {
	F, n := m.numFeatures, len(out)
	nodes, values := m.nodes, m.values
	for t, root := range m.roots {
		depth := int(m.depths[t])
		i := 0
		for ; i+4 <= n; i += 4 {
			r0 := features[i*F : i*F+F]
			r1 := features[(i+1)*F : (i+1)*F+F]
			r2 := features[(i+2)*F : (i+2)*F+F]
			r3 := features[(i+3)*F : (i+3)*F+F]
			n0, n1, n2, n3 := root, root, root, root
			for d := 0; d < depth; d++ {
				n0 = stepNaN(&nodes[n0], r0)
				n1 = stepNaN(&nodes[n1], r1)
				n2 = stepNaN(&nodes[n2], r2)
				n3 = stepNaN(&nodes[n3], r3)
			}
			out[i] += values[n0]
			out[i+1] += values[n1]
			out[i+2] += values[n2]
			out[i+3] += values[n3]
		}
		for ; i < n; i++ {
			r := features[i*F : i*F+F]
			nd := root
			for d := 0; d < depth; d++ {
				nd = stepNaN(&nodes[nd], r)
			}
			out[i] += values[nd]
		}
	}
}

// accumulateFast is accumulate for rows without NaN (the common case), with a
// cheaper step.
func (m *Model) accumulateFast(features, out []float32) {
	F, n := m.numFeatures, len(out)
	nodes, values := m.nodes, m.values
	for t, root := range m.roots {
		depth := int(m.depths[t])
		i := 0
		for ; i+4 <= n; i += 4 {
			r0 := features[i*F : i*F+F]
			r1 := features[(i+1)*F : (i+1)*F+F]
			r2 := features[(i+2)*F : (i+2)*F+F]
			r3 := features[(i+3)*F : (i+3)*F+F]
			n0, n1, n2, n3 := root, root, root, root
			for d := 0; d < depth; d++ {
				n0 = stepNoNaN(&nodes[n0], r0)
				n1 = stepNoNaN(&nodes[n1], r1)
				n2 = stepNoNaN(&nodes[n2], r2)
				n3 = stepNoNaN(&nodes[n3], r3)
			}
			out[i] += values[n0]
			out[i+1] += values[n1]
			out[i+2] += values[n2]
			out[i+3] += values[n3]
		}
		for ; i < n; i++ {
			r := features[i*F : i*F+F]
			nd := root
			for d := 0; d < depth; d++ {
				nd = stepNoNaN(&nodes[nd], r)
			}
			out[i] += values[nd]
		}
	}
}

// stepNaN moves one level down without branching on the data: the right child
// is taken when x ≥ thr, and when x is NaN (both comparisons false) unless the
// node sends missing values left. At a leaf (thr NaN, left = self-1) it stays.
func stepNaN(nd *flatNode, row []float32) int32 {
	f := nd.feat
	x := row[f&^defaultLeftBit]
	var lt, nan uint32
	if x < nd.thr {
		lt = 1
	}
	if x != x {
		nan = 1
	}
	return nd.left + int32(1-lt-nan&(f>>31))
}

// stepNoNaN is stepNaN for an x known not to be NaN.
func stepNoNaN(nd *flatNode, row []float32) int32 {
	x := row[nd.feat&^defaultLeftBit]
	var right int32 = 1
	if x < nd.thr {
		right = 0
	}
	return nd.left + right
}

// PredictRow scores a single row of NumFeatures values.
func (m *Model) PredictRow(row []float32) (float32, error) {
	var out [1]float32
	if err := m.Predict(row, 1, out[:]); err != nil {
		return 0, err
	}
	return out[0], nil
}

// Importance is the contribution of one feature to the model.
type Importance struct {
	Feature int
	Name    string  // empty when the model has no feature names
	Gain    float64 // total loss reduction of the splits on this feature
	Splits  int     // number of splits on this feature
}

// FeatureImportance returns every feature's total split gain and split count,
// ordered by decreasing gain (then by feature index).
func (m *Model) FeatureImportance() []Importance {
	imp := make([]Importance, m.numFeatures)
	for f := range imp {
		imp[f].Feature = f
		if m.featureNames != nil {
			imp[f].Name = m.featureNames[f]
		}
	}
	for _, t := range m.trees {
		for _, nd := range t {
			if !nd.IsLeaf() && nd.Feature >= 0 && nd.Feature < m.numFeatures {
				imp[nd.Feature].Gain += nd.Gain
				imp[nd.Feature].Splits++
			}
		}
	}
	slices.SortStableFunc(imp, func(a, b Importance) int {
		switch {
		case a.Gain > b.Gain:
			return -1
		case a.Gain < b.Gain:
			return 1
		}
		return a.Feature - b.Feature
	})
	return imp
}
