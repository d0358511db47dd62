package gbdt

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "regenerate testdata/xgb_*.json and their predictions with the xgboost command line")

// goldenCases are small models written by xgboost 1.7.4's command line, kept in
// testdata with xgboost's own predictions so the importer is checked where the
// program is not installed.
var goldenCases = []struct{ name, conf string }{
	{"xgb_rank_small", "booster=gbtree\nobjective=rank:ndcg\neta=0.3\nmax_depth=3\nmin_child_weight=0\nnum_round=4\n"},
	{"xgb_dart_logistic_small", "booster=dart\nobjective=binary:logistic\nbase_score=0.2\nrate_drop=0.3\nskip_drop=0\neta=0.5\nmax_depth=3\nnum_round=4\nseed=3\n"},
}

func TestXGBoostGolden(t *testing.T) {
	d := synthLTR(6, 10, 6, 11)
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			modelPath := filepath.Join("testdata", c.name+".json")
			predPath := filepath.Join("testdata", c.name+".pred.txt")
			if *updateGolden {
				regenerateGolden(t, c.name, c.conf, d, modelPath, predPath)
			}
			rows, want := readGoldenPredictions(t, predPath)
			m := importJSONFile(t, modelPath)
			if m.NumFeatures() != d.NumFeatures {
				t.Fatalf("imported model has %d features, want %d", m.NumFeatures(), d.NumFeatures)
			}
			assertSamePredictions(t, c.name, m, &Dataset{Features: rows, NumFeatures: d.NumFeatures, Labels: want}, want)
		})
	}
}

func regenerateGolden(t *testing.T, name, conf string, d *Dataset, modelPath, predPath string) {
	bin := xgboostCLI(t)
	dir := t.TempDir()
	labels := d.Labels
	if strings.Contains(conf, "binary:") {
		labels = make([]float32, len(d.Labels))
		for i, y := range d.Labels {
			if y > 0 {
				labels[i] = 1
			}
		}
	}
	writeLibSVM(t, filepath.Join(dir, "d.txt"), d, labels)
	abs, _ := filepath.Abs(modelPath)
	runXGBoost(t, bin, dir, "train.conf", conf+"data=\"d.txt?format=libsvm\"\nmodel_out="+abs+"\n")
	runXGBoost(t, bin, dir, "pred.conf", "task=pred\nmodel_in="+abs+"\ntest:data=\"d.txt?format=libsvm\"\nname_pred=p.txt\n")
	preds := readPredictions(t, filepath.Join(dir, "p.txt"))
	var b strings.Builder
	b.WriteString("# xgboost prediction, then the features (NaN = missing)\n")
	F := d.NumFeatures
	for i, p := range preds {
		b.WriteString(strconv.FormatFloat(float64(p), 'g', -1, 32))
		for _, v := range d.Features[i*F : (i+1)*F] {
			b.WriteString(" " + strconv.FormatFloat(float64(v), 'g', -1, 32))
		}
		b.WriteByte('\n')
	}
	if err := os.WriteFile(predPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readGoldenPredictions(t *testing.T, path string) (features, preds []float32) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for i, fld := range strings.Fields(line) {
			v, err := strconv.ParseFloat(fld, 32)
			if err != nil {
				t.Fatalf("%s: bad number %q: %v", path, fld, err)
			}
			if i == 0 {
				preds = append(preds, float32(v))
			} else {
				features = append(features, float32(v))
			}
		}
	}
	if len(preds) == 0 || len(features)%len(preds) != 0 {
		t.Fatalf("%s: %d predictions and %d feature values", path, len(preds), len(features))
	}
	return features, preds
}

// TestImportHandWritten checks the importer on a tiny hand-written model in
// XGBoost's schema against predictions computed by hand.
func TestImportHandWritten(t *testing.T) {
	const js = `{"learner":{"feature_names":["price","ctr"],"learner_model_param":{"base_score":"5E-1","num_class":"0","num_feature":"2","num_target":"1"},
 "objective":{"name":"rank:ndcg"},
 "gradient_booster":{"name":"gbtree","model":{"tree_info":[0,0],"trees":[
  {"left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_indices":[0,0,0],"split_conditions":[10,-1,2],"default_left":[1,0,0],"split_type":[0,0,0],"loss_changes":[3.5,0,0],"base_weights":[0,-1,2],"tree_param":{"num_nodes":"3","size_leaf_vector":"0"}},
  {"left_children":[2,-1,3,-1,-1],"right_children":[1,-1,4,-1,-1],"split_indices":[1,0,0,0,0],"split_conditions":[0.5,0.25,0.75,-0.5,0.125],"default_left":[0,0,0,0,0],"split_type":[0,0,0,0,0],"loss_changes":[1,0,2,0,0],"base_weights":[0,0,0,0,0],"tree_param":{"num_nodes":"5","size_leaf_vector":"0"}}
 ]}}},"version":[1,7,4]}`
	m, err := ImportXGBoostJSON(strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	nan := float32(math.NaN())
	cases := []struct {
		price, ctr float32
		want       float32
	}{
		// Tree 0: price < 10 (NaN left) → -1, else 2.
		// Tree 1: ctr < 0.5 → node 2, else (and NaN) node 1 = 0.25;
		//         node 2: price < 0.75 → -0.5, else 0.125.
		{5, 0.1, 0.5 - 1 + 0.125},
		{20, 0.9, 0.5 + 2 + 0.25},
		{nan, 0.9, 0.5 - 1 + 0.25},
		{20, nan, 0.5 + 2 + 0.25},
		{0.5, 0.2, 0.5 - 1 - 0.5},
		{0.75, 0.2, 0.5 - 1 + 0.125}, // 0.75 is not < 0.75
		{nan, 0.2, 0.5 - 1 + 0.125},  // NaN price in tree 1 goes right
	}
	for _, c := range cases {
		got, err := m.PredictRow([]float32{c.price, c.ctr})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(got-c.want)) > 1e-6 {
			t.Errorf("price=%v ctr=%v: got %v, want %v", c.price, c.ctr, got, c.want)
		}
	}
	imp := m.FeatureImportance()
	if imp[0].Name != "price" || imp[0].Splits != 2 || imp[0].Gain != 5.5 || imp[1].Splits != 1 {
		t.Errorf("importance %+v, want price first with 2 splits and gain 5.5, ctr 1 split", imp)
	}
	if m.Objective() != "rank:ndcg" || m.BaseScore() != 0.5 {
		t.Errorf("objective %q base %v", m.Objective(), m.BaseScore())
	}
}

func TestImportErrors(t *testing.T) {
	good := func(mut string) string {
		return fmt.Sprintf(`{"learner":{"learner_model_param":{"base_score":"5E-1","num_class":"0","num_feature":"2"},"objective":{"name":"%s"},"gradient_booster":{"name":"gbtree","model":{"trees":[{"left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_indices":[0,0,0],"split_conditions":[1,2,3],"default_left":[0,0,0]}]}}}}`, mut)
	}
	if _, err := ImportXGBoostJSON(strings.NewReader(good("rank:ndcg"))); err != nil {
		t.Fatalf("baseline model rejected: %v", err)
	}
	for name, js := range map[string]string{
		"empty":         ``,
		"not json":      `hello`,
		"no learner":    `{"version":[1,7,4]}`,
		"objective":     good("multi:softprob"),
		"bad num_feat":  strings.Replace(good("rank:ndcg"), `"num_feature":"2"`, `"num_feature":"x"`, 1),
		"feature range": strings.Replace(good("rank:ndcg"), `"split_indices":[0,0,0]`, `"split_indices":[7,0,0]`, 1),
		"child range":   strings.Replace(good("rank:ndcg"), `"right_children":[2,-1,-1]`, `"right_children":[9,-1,-1]`, 1),
		"cycle":         strings.Replace(good("rank:ndcg"), `"right_children":[2,-1,-1]`, `"right_children":[0,-1,-1]`, 1),
		"lengths":       strings.Replace(good("rank:ndcg"), `"default_left":[0,0,0]`, `"default_left":[0,0]`, 1),
		"multiclass":    strings.Replace(good("rank:ndcg"), `"num_class":"0"`, `"num_class":"3"`, 1),
		"gblinear":      strings.Replace(good("rank:ndcg"), `"name":"gbtree"`, `"name":"gblinear"`, 1),
		"logistic base": strings.Replace(good("binary:logistic"), `"5E-1"`, `"1.5"`, 1),
	} {
		if _, err := ImportXGBoostJSON(strings.NewReader(js)); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func FuzzImportXGBoost(f *testing.F) {
	for _, c := range goldenCases {
		if b, err := os.ReadFile(filepath.Join("testdata", c.name+".json")); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"learner":{"learner_model_param":{"base_score":"[5E-1]","num_feature":"1"},"objective":{"name":"reg:squarederror"},"gradient_booster":{"name":"gbtree","model":{"trees":[{"left_children":[-1],"right_children":[-1],"split_indices":[0],"split_conditions":[1],"default_left":[0]}]}}}}`))
	f.Add([]byte(`{"learner":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ImportXGBoostJSON(strings.NewReader(string(data)))
		if err != nil || m.NumFeatures() > 1<<16 {
			return
		}
		row := make([]float32, m.NumFeatures())
		for i := range row {
			row[i] = float32(i) - 1
		}
		if _, err := m.PredictRow(row); err != nil {
			t.Fatalf("imported model cannot predict: %v", err)
		}
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := UnmarshalModel(b); err != nil {
			t.Fatalf("imported model does not round-trip: %v", err)
		}
	})
}
