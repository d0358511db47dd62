package size

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"testing"
)

// The ModCloth and RentTheRunway 100-row samples (Misra, Wan, McAuley 2018) are too
// small to train on; this smoke test maps their fit labels to outcomes and their
// body measurements to surveys, and checks the survey part answers for them.

var (
	feetInches = regexp.MustCompile(`^(\d)\s*(?:ft|')\s*(\d{1,2})?\s*(?:in|")?$`)
	pounds     = regexp.MustCompile(`^(\d{2,3})\s*lbs$`)
)

func heightCM(s string) float64 {
	m := feetInches.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	ft, _ := strconv.Atoi(m[1])
	in, _ := strconv.Atoi(m[2])
	return float64(ft*12+in) * 2.54
}

func readMini(t *testing.T, name string) []map[string]any {
	f, err := os.Open("../../../shared/data/fit/" + name)
	if err != nil {
		t.Skipf("fit sample %s not available (%v); it lives in ../shared/data/fit", name, err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, r)
	}
	return out
}

func TestFitSamplesSmoke(t *testing.T) {
	_, m := small(t)
	for _, c := range []struct {
		file              string
		fit, small, large int
	}{{"modcloth_final_data_mini.jsonl", 56, 32, 12}, {"renttherunway_final_data_mini.jsonl", 79, 10, 11}} {
		rows := readMini(t, c.file)
		var counts [4]int
		surveys, answered := 0, 0
		for _, r := range rows {
			fit, _ := r["fit"].(string)
			counts[ParseOutcome(fit)]++
			h, _ := r["height"].(string)
			w, _ := r["weight"].(string)
			age, _ := strconv.ParseFloat(asString(r["age"]), 64)
			s := Survey{CustomerID: asString(r["user_id"]), HeightCM: heightCM(h), Age: age, Gender: "female"}
			if pm := pounds.FindStringSubmatch(w); pm != nil {
				lb, _ := strconv.ParseFloat(pm[1], 64)
				s.WeightKG = lb * 0.45359237
			}
			if s.HeightCM == 0 && s.WeightKG == 0 {
				continue
			}
			surveys++
			p, err := m.ProfileFromSurvey(nil, s)
			if err != nil {
				t.Fatalf("%s user %s: %v", c.file, s.CustomerID, err)
			}
			if p.Wearers(SystemAlpha) == 1 {
				answered++
			}
		}
		if counts[OutcomeKept] != c.fit || counts[OutcomeTooSmall] != c.small || counts[OutcomeTooLarge] != c.large {
			t.Errorf("%s: fit/small/large %d/%d/%d; SOURCE.md says %d/%d/%d", c.file, counts[1], counts[2], counts[3], c.fit, c.small, c.large)
		}
		t.Logf("%s: %d rows, fit/small/large %d/%d/%d, %d with measurements, %d with weight got an alpha size from the survey",
			c.file, len(rows), counts[1], counts[2], counts[3], surveys, answered)
	}
}

func asString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}
