package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/event"
	"github.com/bespokesearch/bespoke/internal/lake"
	"github.com/bespokesearch/bespoke/internal/profile"
)

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.SetBasicAuth(testWriteKey, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

func TestEventsReachProfilesAndLake(t *testing.T) {
	s, ts := newTestServer(t)
	do(t, "PUT", ts.URL+"/v1/products", "Bearer "+testAdmin, testCatalog)
	_, m := do(t, "GET", ts.URL+"/v1/search?q=running+shoe", "", "")
	anon := ids(m, "results")

	// A customer clicks and buys Alpine: their next search changes within a second.
	now := time.Now().UTC().Format(time.RFC3339)
	var evs []string
	for i := 0; i < 3; i++ {
		evs = append(evs, fmt.Sprintf(`{"type":"track","event":"Product Clicked","userId":"alp","messageId":"c%d","timestamp":%q,"properties":{"product_id":"p3","position":3}}`, i, now))
	}
	evs = append(evs, fmt.Sprintf(`{"type":"track","event":"Order Completed","userId":"alp","messageId":"o1","timestamp":%q,"properties":{"order_id":"o1","products":[{"product_id":"p3"}]}}`, now))
	sent := time.Now()
	code, body := post(t, ts.URL+"/v1/batch", `{"batch":[`+strings.Join(evs, ",")+`]}`)
	if code != 200 {
		t.Fatalf("batch: %d %s", code, body)
	}
	var got []string
	for time.Since(sent) < 5*time.Second {
		_, m = do(t, "GET", ts.URL+"/v1/search?q=running+shoe&customer_id=alp", "", "")
		if m["personalized"] == true {
			got = ids(m, "results")
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	fresh := time.Since(sent)
	if got == nil || got[0] != "p3" {
		t.Fatalf("after buying p3 the customer's search should lead with it: %v (anonymous %v)", got, anon)
	}
	t.Logf("event acknowledged → reflected in search: %v", fresh)

	// The same batch again is stored once; flush makes everything acknowledged visible in the lake.
	if code, body = post(t, ts.URL+"/v1/batch", `{"batch":[`+strings.Join(evs, ",")+`]}`); code != 200 {
		t.Fatalf("batch again: %d %s", code, body)
	}
	if code, _ := do(t, "POST", ts.URL+"/v1/admin/flush", "Bearer "+testAdmin, ""); code != 200 {
		t.Fatalf("flush: %d", code)
	}
	st, err := lake.Stats(context.Background(), s.pipe.lakeStore)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events["Product Clicked"] != 3 || st.Events["Order Completed"] != 1 {
		t.Fatalf("lake holds %v, want 3 clicks and 1 order exactly once", st.Events)
	}
}

func TestCollectorRefusesBadInput(t *testing.T) {
	_, ts := newTestServer(t)
	code, body := post(t, ts.URL+"/v1/batch", `{"batch":[{"type":"track","event":"Product Clicked","userId":"u","properties":{"product_id":"p"}}]}`)
	if code != 400 || !strings.Contains(body, "position") {
		t.Fatalf("missing position: %d %s", code, body)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/v1/batch", strings.NewReader(`{"batch":[]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("no write key: %d", resp.StatusCode)
	}
}

// TestChangesProfilesAgreesWithApplyEvent: the updater skips the events changesProfiles
// rejects, so it must accept every event ApplyEvent applies.
func TestChangesProfilesAgreesWithApplyEvent(t *testing.T) {
	props := `{"product_id":"p1","position":1,"search_id":"s","query":"q","order_id":"o","size":"9","reason":"too_small",` +
		`"products":[{"product_id":"p1","position":1,"size":"9"}],"height_cm":180,"shoe_width":"wide"}`
	names := []string{event.ProductsSearched, event.ProductListViewed, event.ProductClicked, event.ProductViewed,
		event.ProductAdded, event.OrderCompleted, event.ProductReturned, event.FitSurveyCompleted,
		event.PersonalizationOut, event.PersonalizationIn, "Custom Thing"}
	lookup := func(id string) (profile.Item, bool) { return profile.Item{ID: id, Brand: "b"}, true }
	applied := 0
	for _, typ := range []string{event.TypeTrack, event.TypeIdentify, event.TypePage} {
		for _, name := range names {
			ev := &event.Event{Type: typ, Event: name, UserID: "u", Timestamp: time.Now(), Properties: json.RawMessage(props)}
			if (&profile.Profile{}).ApplyEvent(ev, lookup) {
				applied++
				if !changesProfiles(ev) {
					t.Errorf("%s %q changes profiles but the updater would skip it", typ, name)
				}
			}
		}
	}
	if applied < 8 {
		t.Fatalf("only %d event kinds applied: the test no longer exercises ApplyEvent", applied)
	}
}
