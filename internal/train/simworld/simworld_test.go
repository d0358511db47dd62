package simworld

import (
	"fmt"
	"testing"

	"github.com/bespokesearch/bespoke/internal/catalog"
)

// TextFor gives exactly Text's scores for the products asked about.
func TestTextForMatchesText(t *testing.T) {
	var ps []catalog.Product
	colors := []string{"Red", "black", "white"}
	cats := []string{"boots", "sneakers", "shorts"}
	for i := range 60 {
		ps = append(ps, catalog.Product{ProductID: fmt.Sprintf("P%03d", i), Name: fmt.Sprintf("Trail %s %d", cats[i%3], i%7),
			Brand: fmt.Sprintf("Brand%d", i%4), Category: cats[i%3], Color: colors[i%3]})
	}
	text, textFor := Text(ps), TextFor(ps)
	ids := []string{"P000", "P001", "P002", "P013", "P059", "unknown"}
	out := make([]float32, len(ids))
	nonzero := 0
	for _, q := range []string{"red boots", "boot", "black sneakers brand1", "red red shorts", "", "nothing here", "TRAIL 3"} {
		want := text(q)
		textFor(q, ids, out)
		for i, id := range ids {
			if out[i] != want[id] {
				t.Errorf("query %q, %s: TextFor %v, Text %v", q, id, out[i], want[id])
			}
			if out[i] != 0 {
				nonzero++
			}
		}
	}
	if nonzero < 5 {
		t.Errorf("only %d non-zero scores: the queries do not exercise the scoring", nonzero)
	}
}
