package gbdt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// maxXGBoostJSONBytes bounds the size of an imported model.
const maxXGBoostJSONBytes = 1 << 30

// ImportXGBoostJSON reads a model saved by XGBoost in its JSON format
// (Booster.save_model("m.json"), or the xgboost command line with
// model_out=m.json; versions 1.0 to 3.x) and returns an equivalent Model whose
// Predict matches XGBoost's predict (within float32 rounding).
//
// Supported: the gbtree and dart boosters with one output (regression, binary
// classification, ranking), numerical splits, missing values following
// default_left. The margin is base_score transformed to margin space by the
// objective (identity for reg:squarederror and rank:*, logit for binary:logistic
// and binary:logitraw, log for count:poisson, reg:gamma and reg:tweedie) plus the
// sum of the leaf values; Predict applies the objective's output transform
// (sigmoid for binary:logistic, exp for count:poisson, reg:gamma, reg:tweedie).
// Multi-class models, gblinear, categorical splits and vector leaves are rejected
// with an error.
func ImportXGBoostJSON(r io.Reader) (*Model, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxXGBoostJSONBytes+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read XGBoost JSON model: %w", err)
	}
	if len(data) > maxXGBoostJSONBytes {
		return nil, fmt.Errorf("cannot import XGBoost JSON model: larger than %d bytes", maxXGBoostJSONBytes)
	}
	var doc xgbDocument
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("cannot parse XGBoost JSON model: %w", err)
	}
	if doc.Learner == nil {
		return nil, errors.New("cannot import XGBoost JSON model: no \"learner\" object (is this a model saved with save_model to a .json file?)")
	}
	l := doc.Learner
	mp := l.ModelParam
	numFeatures, err := xgbInt(mp.NumFeature, "learner_model_param.num_feature")
	if err != nil {
		return nil, err
	}
	if numFeatures < 0 || numFeatures > 1<<24 {
		return nil, fmt.Errorf("cannot import XGBoost JSON model: num_feature=%d out of range", numFeatures)
	}
	if mp.NumClass != "" {
		nc, err := xgbInt(mp.NumClass, "learner_model_param.num_class")
		if err != nil {
			return nil, err
		}
		if nc > 1 {
			return nil, fmt.Errorf("cannot import XGBoost JSON model: multi-class models (num_class=%d) are not supported", nc)
		}
	}
	if mp.NumTarget != "" {
		nt, err := xgbInt(mp.NumTarget, "learner_model_param.num_target")
		if err != nil {
			return nil, err
		}
		if nt > 1 {
			return nil, fmt.Errorf("cannot import XGBoost JSON model: multi-target models (num_target=%d) are not supported", nt)
		}
	}
	baseScore, err := xgbBaseScore(mp.BaseScore)
	if err != nil {
		return nil, err
	}
	objective := l.Objective.Name
	marginOf, output, err := xgbObjective(objective)
	if err != nil {
		return nil, err
	}
	base := marginOf(baseScore)
	if math.IsNaN(base) || math.IsInf(base, 0) {
		return nil, fmt.Errorf("cannot import XGBoost JSON model: base_score %v is outside the domain of objective %q", baseScore, objective)
	}

	gb := l.GradientBooster
	var model *xgbGBTreeModel
	var weightDrop []float64
	switch gb.Name {
	case "gbtree", "":
		model = gb.Model
	case "dart":
		if gb.GBTree == nil {
			return nil, errors.New("cannot import XGBoost JSON model: dart booster without \"gbtree\"")
		}
		model = gb.GBTree.Model
		weightDrop = gb.WeightDrop
	default:
		return nil, fmt.Errorf("cannot import XGBoost JSON model: booster %q is not supported (gbtree and dart are)", gb.Name)
	}
	if model == nil {
		return nil, errors.New("cannot import XGBoost JSON model: no gradient_booster.model.trees")
	}
	if weightDrop != nil && len(weightDrop) != len(model.Trees) {
		return nil, fmt.Errorf("cannot import XGBoost JSON model: dart has %d weights for %d trees", len(weightDrop), len(model.Trees))
	}
	for i, g := range model.TreeInfo {
		if g != 0 {
			return nil, fmt.Errorf("cannot import XGBoost JSON model: tree %d belongs to output group %d; only single-output models are supported", i, g)
		}
	}
	trees := make([][]TreeNode, len(model.Trees))
	for ti, t := range model.Trees {
		scale := 1.0
		if weightDrop != nil {
			scale = weightDrop[ti]
		}
		tree, err := t.convert(ti, numFeatures, scale)
		if err != nil {
			return nil, err
		}
		trees[ti] = tree
	}
	var names []string
	if len(l.FeatureNames) == numFeatures && numFeatures > 0 {
		names = l.FeatureNames
	}
	m, err := NewModel(numFeatures, float32(base), output, objective, names, trees)
	if err != nil {
		return nil, fmt.Errorf("cannot import XGBoost JSON model: %w", err)
	}
	return m, nil
}

type xgbDocument struct {
	Learner *xgbLearner `json:"learner"`
}

type xgbLearner struct {
	FeatureNames []string `json:"feature_names"`
	ModelParam   struct {
		BaseScore  string `json:"base_score"`
		NumClass   string `json:"num_class"`
		NumFeature string `json:"num_feature"`
		NumTarget  string `json:"num_target"`
	} `json:"learner_model_param"`
	Objective struct {
		Name string `json:"name"`
	} `json:"objective"`
	GradientBooster struct {
		Name   string          `json:"name"`
		Model  *xgbGBTreeModel `json:"model"`
		GBTree *struct {
			Model *xgbGBTreeModel `json:"model"`
		} `json:"gbtree"`
		WeightDrop []float64 `json:"weight_drop"`
	} `json:"gradient_booster"`
}

type xgbGBTreeModel struct {
	Trees    []xgbTree `json:"trees"`
	TreeInfo []int     `json:"tree_info"`
}

type xgbTree struct {
	LeftChildren    []int       `json:"left_children"`
	RightChildren   []int       `json:"right_children"`
	SplitIndices    []int       `json:"split_indices"`
	SplitConditions []float32   `json:"split_conditions"`
	DefaultLeft     []xgbBool   `json:"default_left"`
	SplitType       []int       `json:"split_type"`
	LossChanges     []float64   `json:"loss_changes"`
	BaseWeights     []float32   `json:"base_weights"`
	TreeParam       xgbTreeParm `json:"tree_param"`
}

type xgbTreeParm struct {
	NumNodes       string `json:"num_nodes"`
	SizeLeafVector string `json:"size_leaf_vector"`
}

// xgbBool accepts 0/1 numbers (XGBoost ≥ 1.0) and true/false.
type xgbBool bool

func (b *xgbBool) UnmarshalJSON(p []byte) error {
	switch s := string(p); s {
	case "1", "true":
		*b = true
	case "0", "false":
		*b = false
	default:
		return fmt.Errorf("default_left value %s is not 0, 1, true or false", s)
	}
	return nil
}

func xgbInt(s, field string) (int, error) {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("cannot import XGBoost JSON model: %s=%q is not an integer", field, s)
	}
	return v, nil
}

// xgbBaseScore parses base_score: "5E-1" (XGBoost < 3) or "[5E-1]" (XGBoost 3).
func xgbBaseScore(s string) (float64, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
		t = strings.TrimSpace(t[1 : len(t)-1])
		if strings.Contains(t, ",") {
			return 0, fmt.Errorf("cannot import XGBoost JSON model: base_score %q has several values (multi-target)", s)
		}
	}
	if t == "" {
		return 0.5, nil // XGBoost's default
	}
	v, err := strconv.ParseFloat(t, 32)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("cannot import XGBoost JSON model: base_score %q is not a finite number", s)
	}
	return v, nil
}

// xgbObjective returns how XGBoost maps base_score to margin space and how it
// transforms margins into predictions, for the objectives we support.
func xgbObjective(name string) (func(float64) float64, Output, error) {
	identity := func(x float64) float64 { return x }
	logit := func(x float64) float64 { return float64(float32(-math.Log(1/x - 1))) }
	logf := func(x float64) float64 { return float64(float32(math.Log(x))) }
	switch name {
	case "reg:squarederror", "reg:linear", "reg:pseudohubererror", "reg:absoluteerror",
		"reg:quantileerror", "reg:squaredlogerror",
		"rank:pairwise", "rank:ndcg", "rank:map":
		return identity, OutputIdentity, nil
	case "binary:logistic", "reg:logistic":
		return logit, OutputSigmoid, nil
	case "binary:logitraw":
		return logit, OutputIdentity, nil
	case "count:poisson", "reg:gamma", "reg:tweedie":
		return logf, OutputExp, nil
	case "":
		return nil, 0, errors.New("cannot import XGBoost JSON model: no objective name")
	}
	return nil, 0, fmt.Errorf("cannot import XGBoost JSON model: objective %q is not supported (regression, binary and ranking objectives are)", name)
}

// convert turns one XGBoost tree into portable form. For a leaf, XGBoost keeps the
// leaf value (learning rate applied) in split_conditions.
func (t *xgbTree) convert(ti, numFeatures int, scale float64) ([]TreeNode, error) {
	n := len(t.LeftChildren)
	if t.TreeParam.NumNodes != "" {
		nn, err := xgbInt(t.TreeParam.NumNodes, fmt.Sprintf("trees[%d].tree_param.num_nodes", ti))
		if err != nil {
			return nil, err
		}
		if nn != n {
			return nil, fmt.Errorf("cannot import XGBoost JSON model: tree %d has num_nodes=%d but %d left_children", ti, nn, n)
		}
	}
	if s := t.TreeParam.SizeLeafVector; s != "" && s != "0" && s != "1" {
		return nil, fmt.Errorf("cannot import XGBoost JSON model: tree %d has vector leaves (size_leaf_vector=%s)", ti, s)
	}
	if n == 0 {
		return nil, fmt.Errorf("cannot import XGBoost JSON model: tree %d has no nodes", ti)
	}
	if len(t.RightChildren) != n || len(t.SplitIndices) != n || len(t.SplitConditions) != n || len(t.DefaultLeft) != n {
		return nil, fmt.Errorf("cannot import XGBoost JSON model: tree %d arrays differ in length (left_children %d, right_children %d, split_indices %d, split_conditions %d, default_left %d)",
			ti, n, len(t.RightChildren), len(t.SplitIndices), len(t.SplitConditions), len(t.DefaultLeft))
	}
	out := make([]TreeNode, n)
	for i := 0; i < n; i++ {
		l, r := t.LeftChildren[i], t.RightChildren[i]
		if l < 0 && r < 0 {
			v := t.SplitConditions[i]
			if scale != 1 {
				v = float32(float64(v) * scale)
			}
			out[i] = TreeNode{Left: -1, Right: -1, Value: v}
			continue
		}
		if i < len(t.SplitType) && t.SplitType[i] != 0 {
			return nil, fmt.Errorf("cannot import XGBoost JSON model: tree %d node %d is a categorical split, not supported", ti, i)
		}
		if l < 0 || r < 0 || l >= n || r >= n {
			return nil, fmt.Errorf("cannot import XGBoost JSON model: tree %d node %d has children %d and %d, the tree has %d nodes", ti, i, l, r, n)
		}
		f := t.SplitIndices[i]
		if f < 0 || f >= numFeatures {
			return nil, fmt.Errorf("cannot import XGBoost JSON model: tree %d node %d splits on feature %d, the model has %d features", ti, i, f, numFeatures)
		}
		gain := 0.0
		if i < len(t.LossChanges) {
			gain = t.LossChanges[i]
		}
		out[i] = TreeNode{Feature: f, Threshold: t.SplitConditions[i], Left: l, Right: r, DefaultLeft: bool(t.DefaultLeft[i]), Gain: gain}
	}
	return out, nil
}
