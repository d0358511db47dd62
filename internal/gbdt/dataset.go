package gbdt

import (
	"fmt"
	"math"
)

// Dataset is a table of rows for training or evaluation.
//
// Features is row-major: row i is Features[i*NumFeatures : (i+1)*NumFeatures].
// NaN marks a missing value. Labels holds one label per row: graded relevance
// 0..31 for lambdarank (gain 2^label-1), 0/1 for binary, any finite value for
// regression. Groups holds the sizes of consecutive query groups (they must sum to
// the number of rows); it is required for lambdarank and ignored otherwise.
type Dataset struct {
	Features    []float32
	NumFeatures int
	Labels      []float32
	Groups      []int
}

// NumRows returns the number of rows (len(Labels)).
func (d *Dataset) NumRows() int { return len(d.Labels) }

// Validate checks shapes and label ranges for the given objective.
func (d *Dataset) Validate(objective string) error {
	if d == nil {
		return fmt.Errorf("dataset is nil")
	}
	n := len(d.Labels)
	if d.NumFeatures < 0 {
		return fmt.Errorf("dataset NumFeatures=%d is negative", d.NumFeatures)
	}
	if n == 0 {
		return fmt.Errorf("dataset has no rows")
	}
	if d.NumFeatures > 0 && n > math.MaxInt32 {
		return fmt.Errorf("dataset has %d rows, more than the supported %d", n, math.MaxInt32)
	}
	if len(d.Features) != n*d.NumFeatures {
		return fmt.Errorf("dataset Features has %d values, want rows×NumFeatures = %d×%d = %d",
			len(d.Features), n, d.NumFeatures, n*d.NumFeatures)
	}
	for i, y := range d.Labels {
		if math.IsNaN(float64(y)) || math.IsInf(float64(y), 0) {
			return fmt.Errorf("dataset label of row %d is %v, want a finite number", i, y)
		}
		switch objective {
		case ObjectiveLambdaRank:
			if y < 0 || y > 31 {
				return fmt.Errorf("dataset label of row %d is %v, want a relevance grade in 0..31", i, y)
			}
		case ObjectiveLogistic:
			if y != 0 && y != 1 {
				return fmt.Errorf("dataset label of row %d is %v, want 0 or 1", i, y)
			}
		}
	}
	if objective == ObjectiveLambdaRank || len(d.Groups) > 0 {
		if len(d.Groups) == 0 {
			return fmt.Errorf("dataset has no query groups (Groups), required for %s", objective)
		}
		sum := 0
		for i, g := range d.Groups {
			if g <= 0 {
				return fmt.Errorf("dataset query group %d has size %d, want ≥ 1", i, g)
			}
			sum += g
			if sum > n {
				break
			}
		}
		if sum > n {
			return fmt.Errorf("dataset query group sizes exceed the number of rows %d", n)
		}
		if sum < n {
			return fmt.Errorf("dataset query group sizes sum to %d, want the number of rows %d", sum, n)
		}
	}
	return nil
}

// groupOffsets returns the start offset of every group plus a final n.
func groupOffsets(groups []int, n int) []int {
	if len(groups) == 0 {
		return []int{0, n}
	}
	off := make([]int, len(groups)+1)
	for i, g := range groups {
		off[i+1] = off[i] + g
	}
	return off
}
