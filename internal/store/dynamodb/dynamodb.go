package dynamodb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/bespokesearch/bespoke/internal/store"
)

const (
	attrKey   = "k"
	attrValue = "v"
	// maxItemBytes is DynamoDB's item size limit (400 KB, attribute names included).
	maxItemBytes = 400 * 1024
	batchGetMax  = 100
	batchPutMax  = 25
)

// ErrItemTooLarge is returned (wrapped) when a key and value exceed DynamoDB's item size limit.
var ErrItemTooLarge = errors.New("dynamodb: item larger than 400 KB")

// Options configures Open.
type Options struct {
	// Table is the table name (required).
	Table string
	// Endpoint overrides the service endpoint, e.g. "http://127.0.0.1:8000" for a local
	// DynamoDB-compatible server. Empty uses the AWS endpoint of the configured region.
	Endpoint string
	// CreateTable creates the table (on-demand billing) when it does not exist and waits until it
	// is active. Without it, Open fails when the table is missing.
	CreateTable bool
	// EventuallyConsistent makes reads eventually consistent (half the read cost).
	EventuallyConsistent bool
	// ScanSegments is the number of parallel Scan segments of DeletePrefix (4 when zero).
	ScanSegments int
	// CreateTimeout bounds waiting for a created table to become active (2 minutes when zero).
	CreateTimeout time.Duration
}

// Store is a store.Store on a DynamoDB table.
type Store struct {
	db         *dynamodb.Client
	table      string
	consistent bool
	segments   int
	closed     atomic.Bool
}

var _ store.Store = (*Store)(nil)

// Open returns a store on the table described by opts, using cfg for region and credentials
// (typically from config.LoadDefaultConfig).
func Open(ctx context.Context, cfg aws.Config, opts Options) (*Store, error) {
	if opts.Table == "" {
		return nil, errors.New("cannot open dynamodb store: empty table name")
	}
	if opts.ScanSegments <= 0 {
		opts.ScanSegments = 4
	}
	if opts.CreateTimeout <= 0 {
		opts.CreateTimeout = 2 * time.Minute
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	})
	s := &Store{db: db, table: opts.Table, consistent: !opts.EventuallyConsistent, segments: opts.ScanSegments}
	if err := s.ensureTable(ctx, opts); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) ensureTable(ctx context.Context, opts Options) error {
	_, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)})
	var notFound *types.ResourceNotFoundException
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &notFound):
		return fmt.Errorf("cannot describe dynamodb table %q: %w", s.table, err)
	case !opts.CreateTable:
		return fmt.Errorf("dynamodb table %q does not exist (create it, or set CreateTable): %w", s.table, err)
	}
	_, err = s.db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(s.table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(attrKey), AttributeType: types.ScalarAttributeTypeB}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(attrKey), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) { // in use: someone else is creating it
		return fmt.Errorf("cannot create dynamodb table %q: %w", s.table, err)
	}
	w := dynamodb.NewTableExistsWaiter(s.db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = 5 * time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)}, opts.CreateTimeout); err != nil {
		return fmt.Errorf("dynamodb table %q did not become active: %w", s.table, err)
	}
	return nil
}

func (s *Store) begin(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("dynamodb store %q: %w", s.table, store.ErrClosed)
	}
	return ctx.Err()
}

func keyAttr(k []byte) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrKey: &types.AttributeValueMemberB{Value: k}}
}

func item(k, v []byte) (map[string]types.AttributeValue, error) {
	if len(k)+len(v)+len(attrKey)+len(attrValue) > maxItemBytes {
		return nil, fmt.Errorf("key %q with a value of %d bytes: %w", k, len(v), ErrItemTooLarge)
	}
	m := map[string]types.AttributeValue{attrKey: &types.AttributeValueMemberB{Value: k}}
	if len(v) > 0 {
		m[attrValue] = &types.AttributeValueMemberB{Value: v}
	}
	return m, nil
}

// value extracts the value of an item; a missing "v" is the empty value.
func value(it map[string]types.AttributeValue) ([]byte, error) {
	av, ok := it[attrValue]
	if !ok {
		return []byte{}, nil
	}
	b, ok := av.(*types.AttributeValueMemberB)
	if !ok {
		return nil, fmt.Errorf("dynamodb attribute %q has type %T, want binary", attrValue, av)
	}
	if b.Value == nil {
		return []byte{}, nil
	}
	return b.Value, nil
}

func itemKey(it map[string]types.AttributeValue) ([]byte, error) {
	b, ok := it[attrKey].(*types.AttributeValueMemberB)
	if !ok {
		return nil, fmt.Errorf("dynamodb item without a binary %q attribute", attrKey)
	}
	return b.Value, nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := store.CheckKey(key); err != nil {
		return nil, err
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            keyAttr(key),
		ConsistentRead: aws.Bool(s.consistent),
	})
	if err != nil {
		return nil, fmt.Errorf("cannot get %q from dynamodb table %q: %w", key, s.table, err)
	}
	if out.Item == nil {
		return nil, store.ErrNotFound
	}
	v, err := value(out.Item)
	if err != nil {
		return nil, fmt.Errorf("cannot read %q from dynamodb table %q: %w", key, s.table, err)
	}
	return v, nil
}

// backoff sleeps before retry attempt n (0-based) or returns ctx's error.
func backoff(ctx context.Context, n int) error {
	d := 5 * time.Millisecond << min(n, 7) // 5 ms … 640 ms
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// MultiGet implements store.Store with BatchGetItem, retrying unprocessed keys.
func (s *Store) MultiGet(ctx context.Context, keys [][]byte) ([][]byte, error) {
	for _, k := range keys {
		if err := store.CheckKey(k); err != nil {
			return nil, err
		}
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	out := make([][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	// BatchGetItem rejects duplicate keys: ask for each key once.
	positions := make(map[string][]int, len(keys))
	distinct := make([][]byte, 0, len(keys))
	for i, k := range keys {
		if _, ok := positions[string(k)]; !ok {
			distinct = append(distinct, k)
		}
		positions[string(k)] = append(positions[string(k)], i)
	}
	for start := 0; start < len(distinct); start += batchGetMax {
		chunk := distinct[start:min(start+batchGetMax, len(distinct))]
		req := make([]map[string]types.AttributeValue, len(chunk))
		for i, k := range chunk {
			req[i] = keyAttr(k)
		}
		pending := map[string]types.KeysAndAttributes{s.table: {Keys: req, ConsistentRead: aws.Bool(s.consistent)}}
		for attempt := 0; len(pending) > 0 && len(pending[s.table].Keys) > 0; attempt++ {
			if attempt > 0 {
				if err := backoff(ctx, attempt-1); err != nil {
					return nil, fmt.Errorf("dynamodb table %q: gave up on %d unprocessed keys: %w", s.table, len(pending[s.table].Keys), err)
				}
			}
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
			if err != nil {
				return nil, fmt.Errorf("cannot batch-get %d keys from dynamodb table %q: %w", len(pending[s.table].Keys), s.table, err)
			}
			for _, it := range res.Responses[s.table] {
				k, err := itemKey(it)
				if err != nil {
					return nil, fmt.Errorf("dynamodb table %q: %w", s.table, err)
				}
				v, err := value(it)
				if err != nil {
					return nil, fmt.Errorf("cannot read %q from dynamodb table %q: %w", k, s.table, err)
				}
				for _, i := range positions[string(k)] {
					out[i] = v
				}
			}
			pending = res.UnprocessedKeys
		}
	}
	return out, nil
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, key, val []byte) error {
	if err := store.CheckKey(key); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	it, err := item(key, val)
	if err != nil {
		return err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
		return fmt.Errorf("cannot put %q into dynamodb table %q: %w", key, s.table, err)
	}
	return nil
}

// PutBatch implements store.Store with BatchWriteItem (not atomic; see the package doc).
func (s *Store) PutBatch(ctx context.Context, kvs []store.KV) error {
	for _, kv := range kvs {
		if err := store.CheckKey(kv.Key); err != nil {
			return err
		}
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	kvs = store.DedupLastWins(kvs) // BatchWriteItem rejects duplicate keys
	reqs := make([]types.WriteRequest, 0, len(kvs))
	for _, kv := range kvs {
		it, err := item(kv.Key, kv.Value)
		if err != nil {
			return err
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
	}
	return s.batchWrite(ctx, reqs)
}

func (s *Store) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	for start := 0; start < len(reqs); start += batchPutMax {
		pending := map[string][]types.WriteRequest{s.table: reqs[start:min(start+batchPutMax, len(reqs))]}
		for attempt := 0; len(pending[s.table]) > 0; attempt++ {
			if attempt > 0 {
				if err := backoff(ctx, attempt-1); err != nil {
					return fmt.Errorf("dynamodb table %q: gave up on %d unprocessed writes: %w", s.table, len(pending[s.table]), err)
				}
			}
			res, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return fmt.Errorf("cannot batch-write %d items to dynamodb table %q: %w", len(pending[s.table]), s.table, err)
			}
			pending = res.UnprocessedItems
		}
	}
	return nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, key []byte) error {
	if err := store.CheckKey(key); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: keyAttr(key)}); err != nil {
		return fmt.Errorf("cannot delete %q from dynamodb table %q: %w", key, s.table, err)
	}
	return nil
}

// DeletePrefix implements store.Store with a parallel filtered Scan of the whole table and
// batched deletes: O(table size); see the package documentation.
func (s *Store) DeletePrefix(ctx context.Context, prefix []byte) error {
	if err := store.CheckPrefix(prefix); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for seg := 0; seg < s.segments; seg++ {
		wg.Add(1)
		go func(seg int) {
			defer wg.Done()
			if err := s.deleteSegment(ctx, prefix, seg); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		}(seg)
	}
	wg.Wait()
	return firstErr
}

func (s *Store) deleteSegment(ctx context.Context, prefix []byte, seg int) error {
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(s.table),
		FilterExpression:          aws.String("begins_with(#k, :p)"),
		ProjectionExpression:      aws.String("#k"),
		ExpressionAttributeNames:  map[string]string{"#k": attrKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberB{Value: prefix}},
		ConsistentRead:            aws.Bool(true),
		Segment:                   aws.Int32(int32(seg)),
		TotalSegments:             aws.Int32(int32(s.segments)),
	}
	p := dynamodb.NewScanPaginator(s.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("cannot scan dynamodb table %q for prefix %q: %w", s.table, prefix, err)
		}
		reqs := make([]types.WriteRequest, 0, len(page.Items))
		for _, it := range page.Items {
			k, err := itemKey(it)
			if err != nil {
				return fmt.Errorf("dynamodb table %q: %w", s.table, err)
			}
			if !bytes.HasPrefix(k, prefix) {
				// The filter is only a hint: some compatible servers compare binary values as
				// text, so check the bytes before deleting.
				continue
			}
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: keyAttr(k)}})
		}
		if err := s.batchWrite(ctx, reqs); err != nil {
			return fmt.Errorf("cannot delete prefix %q: %w", prefix, err)
		}
	}
	return nil
}

// Close implements store.Store; it is idempotent. The SDK client holds no resources that need
// releasing beyond idle HTTP connections, which the transport closes by itself.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}
