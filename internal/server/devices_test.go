package server

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/experiment"
	"github.com/bespokesearch/bespoke/internal/lake"
)

// A device once signed in belongs to its customer: its later anonymous searches and
// size questions are answered from the customer's profiles, its anonymous clicks and
// purchases update them, and erasing the customer removes the link.
func TestSignedInDeviceStaysTheCustomers(t *testing.T) {
	srv, ts := newTestServer(t)
	do(t, "PUT", ts.URL+"/v1/products", "Bearer "+testAdmin, testCatalog)
	now := time.Now().UTC()
	at := func(s int) string { return now.Add(time.Duration(s) * time.Second).Format(time.RFC3339) }
	send := func(evs ...string) {
		t.Helper()
		if code, body := post(t, ts.URL+"/v1/batch", `{"batch":[`+strings.Join(evs, ",")+`]}`); code != 200 {
			t.Fatalf("batch: %d %s", code, body)
		}
	}
	search := func(params string) map[string]any {
		_, m := do(t, "GET", ts.URL+"/v1/search?q=running+shoe&"+params, "", "")
		return m
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10 s", what)
			}
		}
	}
	if m := search("anonymous_id=dev-1"); m["personalized"] == true {
		t.Fatalf("an unknown device is personalized: %v", m)
	}
	// signed in on dev-1 (no identify: the events carry both ids), the customer buys p3
	send(fmt.Sprintf(`{"type":"track","event":"Order Completed","userId":"cust-1","anonymousId":"dev-1","messageId":"d1","timestamp":%q,"properties":{"order_id":"o1","products":[{"product_id":"p3"},{"product_id":"p1","size":"9"}]}}`, at(0)))
	waitFor("the customer's own search is personalized", func() bool { return search("customer_id=cust-1")["personalized"] == true })
	waitFor("the device's anonymous search is the customer's", func() bool {
		m, c := search("anonymous_id=dev-1"), search("customer_id=cust-1")
		return m["personalized"] == true && fmt.Sprint(ids(m, "results")) == fmt.Sprint(ids(c, "results")) &&
			scoreOf(m, "p3") == scoreOf(c, "p3")
	})
	waitFor("the device's size answer is from the customer's purchases", func() bool {
		_, m := do(t, "GET", ts.URL+"/v1/size?anonymous_id=dev-1&product_id=p1", "", "")
		return m["basis"] == "purchases"
	})

	// signed out, the device's clicks on p2 reach the customer's profile
	var clicks []string
	for i := 0; i < 6; i++ {
		clicks = append(clicks, fmt.Sprintf(`{"type":"track","event":"Product Clicked","anonymousId":"dev-1","messageId":"dc%d","timestamp":%q,"properties":{"product_id":"p2","position":2}}`, i, at(10+i)))
	}
	before := search("customer_id=cust-1")
	send(clicks...)
	waitFor("anonymous clicks on the device change the customer's ranking", func() bool {
		m := search("customer_id=cust-1")
		return fmt.Sprint(ids(m, "results")) != fmt.Sprint(ids(before, "results")) || scoreOf(m, "p2") > scoreOf(before, "p2")
	})

	// erasure removes the link with everything else
	if code, m := do(t, "DELETE", ts.URL+"/v1/customers/cust-1", "Bearer "+testAdmin, ""); code != 200 {
		t.Fatalf("erase: %d %v", code, m)
	}
	if m := search("anonymous_id=dev-1"); m["personalized"] == true {
		t.Errorf("the device of an erased customer is still personalized: %v", m)
	}
	// the device's anonymous events go from the lake with the customer's
	var erasures []lake.Erasure
	_ = srv.pipe.lakeStore.List(t.Context(), lake.ErasuresDir+"/", func(oi lake.ObjectInfo) error {
		o, err := srv.pipe.lakeStore.Open(t.Context(), oi.Key)
		if err != nil {
			return err
		}
		defer o.Close()
		var e lake.Erasure
		if json.NewDecoder(io.NewSectionReader(o, 0, o.Size())).Decode(&e) == nil {
			erasures = append(erasures, e)
		}
		return nil
	})
	if !slices.ContainsFunc(erasures, func(e lake.Erasure) bool { return e.UserID == "cust-1" && e.AnonymousID == "dev-1" }) {
		t.Errorf("erasure requests %+v do not name the customer's device", erasures)
	}
	if _, m := do(t, "GET", ts.URL+"/v1/size?anonymous_id=dev-1&product_id=p1", "", ""); m["basis"] == "purchases" || m["basis"] == "survey" {
		t.Errorf("the device of an erased customer still gets a personal size: %v", m)
	}
}

func scoreOf(m map[string]any, id string) float64 {
	for _, r := range m["results"].([]any) {
		if r := r.(map[string]any); r["product_id"] == id {
			f, _ := r["score"].(float64)
			return f
		}
	}
	return 0
}

// A linked device is in its customer's arm: one person, one experience.
func TestLinkedDeviceFollowsTheCustomersArm(t *testing.T) {
	s, ts := newTestServer(t)
	do(t, "PUT", ts.URL+"/v1/products", "Bearer "+testAdmin, testCatalog)
	split := experiment.Split{Treatment: 0.5, Salt: "devices"}
	s.SetSplit(split)
	cust, dev := "", ""
	for i := 0; cust == "" || dev == ""; i++ {
		if id := fmt.Sprint("c", i); cust == "" && split.Arm(id) == experiment.Control {
			cust = id
		}
		if id := fmt.Sprint("d", i); dev == "" && split.Arm(id) == experiment.Personalized {
			dev = id
		}
	}
	arm := func() any {
		_, m := do(t, "GET", ts.URL+"/v1/search?q=running+shoe&anonymous_id="+dev, "", "")
		return m["arm"]
	}
	if a := arm(); a != experiment.Personalized {
		t.Fatalf("device %s before sign-in: arm %v", dev, a)
	}
	if code, body := post(t, ts.URL+"/v1/batch", fmt.Sprintf(`{"batch":[{"type":"identify","userId":%q,"anonymousId":%q,"messageId":"i1","timestamp":%q}]}`,
		cust, dev, time.Now().UTC().Format(time.RFC3339))); code != 200 {
		t.Fatalf("identify: %d %s", code, body)
	}
	for deadline := time.Now().Add(10 * time.Second); arm() != experiment.Control; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("device %s signed in as %s (control): arm %v", dev, cust, arm())
		}
	}
}

// Device ids may hold any character; a customer keeps at most maxLinkedDevices links,
// and dropping the oldest never removes a device that moved on to someone else.
func TestDeviceListBounds(t *testing.T) {
	s, _ := newTestServer(t)
	ctx := t.Context()
	odd := "dev\nwith\nnewlines"
	if _, err := s.linkDevice(ctx, odd, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.linkDevice(ctx, "shared", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.linkDevice(ctx, "shared", "b"); err != nil { // the shared device moves to b
		t.Fatal(err)
	}
	for i := 0; i < maxLinkedDevices+3; i++ {
		if _, err := s.linkDevice(ctx, fmt.Sprint("d", i), "a"); err != nil {
			t.Fatal(err)
		}
	}
	devices, err := s.linkedDevices(ctx, "a")
	if err != nil || len(devices) != maxLinkedDevices {
		t.Fatalf("a's devices: %d %v", len(devices), err)
	}
	if owner, ok, _ := s.deviceOwner(ctx, "shared"); !ok || owner != "b" {
		t.Errorf("the shared device now b's: owner %q %v", owner, ok)
	}
	if _, ok, _ := s.deviceOwner(ctx, odd); ok {
		t.Error("the oldest link was not dropped")
	}
	if err := s.unlinkDevices(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < maxLinkedDevices+3; i++ {
		if _, ok, _ := s.deviceOwner(ctx, fmt.Sprint("d", i)); ok {
			t.Errorf("d%d still linked after a's erasure", i)
		}
	}
	if owner, ok, _ := s.deviceOwner(ctx, "shared"); !ok || owner != "b" {
		t.Errorf("erasing a unlinked b's device: owner %q %v", owner, ok)
	}
}
