package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/bespokesearch/bespoke/pkg/client"
)

func Example() {
	// A stand-in collector; use the Bespoke server's base URL instead.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"success":true}`)
	}))
	defer srv.Close()

	c, err := client.New(srv.URL, "wk_example", client.WithBatchSize(500), client.WithFlushInterval(time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	if _, err := c.Track(ctx, "customer-42", "Product Clicked", map[string]any{"product_id": "p-1", "position": 3}); err != nil {
		fmt.Println(err) // invalid, too large (ErrEventTooLarge) or queue full (ErrQueueFull)
	}
	_, _ = c.Enqueue(ctx, client.Event{Type: "identify", AnonymousID: "anon-7", Traits: map[string]any{"plan": "gold"}})

	closeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Close(closeCtx); err != nil {
		var de *client.DeliveryError
		if errors.As(err, &de) {
			fmt.Println("not delivered:", de.MessageIDs())
		}
		return
	}
	fmt.Println("sent:", c.Stats().Sent)
	// Output: sent: 2
}
