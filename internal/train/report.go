package train

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Summary is the report as a short plain-text table: rankers on the logged clicks,
// then on the ground truth when there is one, then the key comparisons.
func Summary(rep *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "model %s: %d events, %d examples, lists %v, %d trees\n", rep.ModelVersion, rep.Events, rep.Examples, rep.Lists, rep.Trees)
	fmt.Fprintf(&b, "%-22s %8s %7s %8s %7s %8s %9s %6s\n", "ranker", "ndcg@10", "±", "mrr", "±", "ips_ndcg", "ips_clk@5", "n")
	for _, r := range rep.Rankers {
		fmt.Fprintf(&b, "%-22s %8.4f %7.4f %8.4f %7.4f %8.4f %9.4f %6d\n", r.Name, r.NDCG10, r.NDCG10CI, r.MRR, r.MRRCI, r.IPSNDCG10, r.IPSHit5, r.N)
	}
	if len(rep.Truth) > 0 {
		fmt.Fprintf(&b, "ground truth (simulator's attraction given the hidden intent):\n")
		fmt.Fprintf(&b, "%-22s %8s %7s %10s %6s\n", "ranker", "ndcg@10", "±", "exp_clicks", "n")
		for _, r := range rep.Truth {
			fmt.Fprintf(&b, "%-22s %8.4f %7.4f %10.4f %6d\n", r.Name, r.NDCG10, r.NDCG10CI, r.ExpClicks, r.N)
		}
	}
	for _, c := range rep.Comparisons {
		fmt.Fprintf(&b, "%-40s %-14s %+.4f [%+.4f, %+.4f] (%+.1f%%)\n", c.Name, c.Metric, c.Diff, c.CI95[0], c.CI95[1], 100*c.Rel)
	}
	if rep.OracleGap != nil {
		fmt.Fprintf(&b, "oracle gap closed (truth ndcg@10, personalized vs ltr_non_personalized): %.3f\n", *rep.OracleGap)
	}
	for _, seg := range slices.Sorted(maps.Keys(rep.Segments)) {
		for _, r := range rep.Segments[seg] {
			if r.Name != "personalized" && r.Name != "ltr_non_personalized" {
				continue
			}
			if strings.HasPrefix(seg, "truth_") {
				fmt.Fprintf(&b, "segment %-26s %-22s ndcg@10 %.4f expected_clicks %.4f n=%d\n", seg, r.Name, r.NDCG10, r.ExpClicks, r.N)
			} else {
				fmt.Fprintf(&b, "segment %-26s %-22s ndcg@10 %.4f mrr %.4f ips_ndcg@10 %.4f n=%d\n", seg, r.Name, r.NDCG10, r.MRR, r.IPSNDCG10, r.N)
			}
		}
	}
	return b.String()
}
