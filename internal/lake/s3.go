package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3Options configure the S3 storage. Empty fields fall back to the URL's query
// parameters (endpoint, region, path_style), then to the AWS SDK's usual environment
// and shared configuration (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL_S3, …).
type S3Options struct {
	Endpoint        string // e.g. http://127.0.0.1:9000 for an S3-compatible server
	Region          string // default us-east-1 when nothing else sets one
	PathStyle       bool   // bucket in the path instead of the host name (most S3-compatible servers)
	AccessKeyID     string // static credentials; both or neither
	SecretAccessKey string
	PartSize        int64 // multipart part size; default 8 MiB (S3's minimum is 5 MiB)
}

// S3 is a Storage on an S3 bucket prefix. An object is uploaded as a multipart upload
// (or one PutObject when it is smaller than a part); S3 makes the object visible only
// when CompleteMultipartUpload (or PutObject) succeeds, and then whole and durable, so
// that completion is the atomic publication. Uploads in progress are never listed.
type S3 struct {
	client   *s3.Client
	bucket   string
	prefix   string // "" or ending in "/"
	partSize int64
	url      string
}

var _ Storage = (*S3)(nil)

// NewS3 opens the lake at rawURL = s3://bucket/prefix.
func NewS3(ctx context.Context, rawURL string, o S3Options) (*S3, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, fmt.Errorf("invalid S3 lake URL %q: want s3://bucket/prefix", rawURL)
	}
	q := u.Query()
	if o.Endpoint == "" {
		o.Endpoint = q.Get("endpoint")
	}
	if o.Region == "" {
		o.Region = q.Get("region")
	}
	if !o.PathStyle && q.Get("path_style") != "" {
		o.PathStyle, _ = strconv.ParseBool(q.Get("path_style"))
	}
	if (o.AccessKeyID == "") != (o.SecretAccessKey == "") {
		return nil, errors.New("invalid S3 lake options: give both an access key id and a secret access key, or neither")
	}
	var loadOpts []func(*config.LoadOptions) error
	if o.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(o.Region))
	}
	if o.AccessKeyID != "" {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("cannot load AWS configuration for lake %q: %w", rawURL, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.PathStyle
		if o.Endpoint != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != "" {
			// S3-compatible servers often lack the newer flexible checksums
			so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	ps := o.PartSize
	if ps <= 0 {
		ps = 8 << 20
	}
	if ps < 5<<20 {
		ps = 5 << 20
	}
	u.RawQuery = ""
	return &S3{client: client, bucket: u.Host, prefix: prefix, partSize: ps, url: u.String()}, nil
}

func (s *S3) String() string { return s.url }

func (s *S3) key(k string) string { return s.prefix + k }

// Create implements Storage.
func (s *S3) Create(ctx context.Context, key string) (Pending, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	return &s3Pending{s: s, key: key, ctx: context.WithoutCancel(ctx)}, nil
}

type s3Pending struct {
	s        *S3
	key      string
	ctx      context.Context
	buf      bytes.Buffer
	uploadID *string
	parts    []types.CompletedPart
	done     bool
}

func (p *s3Pending) Write(b []byte) (int, error) {
	if p.done {
		return 0, fmt.Errorf("cannot write lake object %q: already committed or aborted", p.key)
	}
	n, _ := p.buf.Write(b)
	for int64(p.buf.Len()) >= p.s.partSize {
		if err := p.uploadPart(p.ctx, p.buf.Next(int(p.s.partSize))); err != nil {
			return n, err
		}
	}
	if p.buf.Len() == 0 {
		p.buf.Reset()
	}
	return n, nil
}

func (p *s3Pending) uploadPart(ctx context.Context, data []byte) error {
	if p.uploadID == nil {
		out, err := p.s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
			Bucket: &p.s.bucket, Key: aws.String(p.s.key(p.key)),
		})
		if err != nil {
			return fmt.Errorf("cannot start upload of lake object %q to %s: %w", p.key, p.s.url, err)
		}
		p.uploadID = out.UploadId
	}
	n := int32(len(p.parts) + 1)
	out, err := p.s.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: &p.s.bucket, Key: aws.String(p.s.key(p.key)), UploadId: p.uploadID,
		PartNumber: aws.Int32(n), Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		return fmt.Errorf("cannot upload part %d of lake object %q to %s: %w", n, p.key, p.s.url, err)
	}
	p.parts = append(p.parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
	return nil
}

func (p *s3Pending) Commit(ctx context.Context) error {
	if p.done {
		return fmt.Errorf("cannot commit lake object %q: already committed or aborted", p.key)
	}
	p.done = true
	if p.uploadID == nil {
		data := p.buf.Bytes()
		_, err := p.s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: &p.s.bucket, Key: aws.String(p.s.key(p.key)),
			Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
		})
		if err != nil {
			return fmt.Errorf("cannot publish lake object %q to %s: %w", p.key, p.s.url, err)
		}
		return nil
	}
	if p.buf.Len() > 0 {
		if err := p.uploadPart(ctx, p.buf.Bytes()); err != nil {
			p.abortUpload()
			return err
		}
	}
	_, err := p.s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &p.s.bucket, Key: aws.String(p.s.key(p.key)), UploadId: p.uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: p.parts},
	})
	if err != nil {
		return fmt.Errorf("cannot complete upload of lake object %q to %s: %w", p.key, p.s.url, err)
	}
	return nil
}

func (p *s3Pending) abortUpload() {
	if p.uploadID != nil {
		_, _ = p.s.client.AbortMultipartUpload(p.ctx, &s3.AbortMultipartUploadInput{
			Bucket: &p.s.bucket, Key: aws.String(p.s.key(p.key)), UploadId: p.uploadID,
		})
	}
}

func (p *s3Pending) Abort() error {
	if p.done {
		return nil
	}
	p.done = true
	p.abortUpload()
	return nil
}

// List implements Storage.
func (s *S3) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	pg := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.key(prefix))})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("cannot list lake %s under %q: %w", s.url, prefix, err)
		}
		for _, o := range out.Contents {
			k := strings.TrimPrefix(aws.ToString(o.Key), s.prefix)
			if checkKey(k) != nil {
				continue
			}
			oi := ObjectInfo{Key: k, Size: aws.ToInt64(o.Size)}
			if o.LastModified != nil {
				oi.ModTime = *o.LastModified
			}
			if err := fn(oi); err != nil {
				return err
			}
		}
	}
	return nil
}

func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NotFound" || ae.ErrorCode() == "NoSuchKey")
}

// Stat implements Storage.
func (s *S3) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := checkKey(key); err != nil {
		return ObjectInfo{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))})
	if err != nil {
		if isNotFound(err) {
			return ObjectInfo{}, fmt.Errorf("lake object %q: %w", key, ErrNotExist)
		}
		return ObjectInfo{}, fmt.Errorf("cannot stat lake object %q in %s: %w", key, s.url, err)
	}
	oi := ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength)}
	if out.LastModified != nil {
		oi.ModTime = *out.LastModified
	}
	return oi, nil
}

// Open implements Storage. Reads are ranged GETs; the object's last 64 KiB (where a
// Parquet footer lives) are fetched once and served from memory.
func (s *S3) Open(ctx context.Context, key string) (Object, error) {
	oi, err := s.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	return &s3Object{s: s, key: key, size: oi.Size, ctx: ctx}, nil
}

type s3Object struct {
	s       *S3
	key     string
	size    int64
	ctx     context.Context
	mu      sync.Mutex
	tail    []byte
	tailOff int64
}

func (o *s3Object) Size() int64  { return o.size }
func (o *s3Object) Close() error { return nil }

func (o *s3Object) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("cannot read lake object %q at negative offset %d", o.key, off)
	}
	if off >= o.size {
		return 0, io.EOF
	}
	want := len(b)
	if int64(want) > o.size-off {
		want = int(o.size - off)
	}
	if want == 0 {
		return 0, nil
	}
	const tailSize = 64 << 10
	o.mu.Lock()
	if o.tail == nil && off >= o.size-tailSize {
		start := max(o.size-tailSize, 0)
		data, err := o.get(start, o.size-1)
		if err != nil {
			o.mu.Unlock()
			return 0, err
		}
		o.tail, o.tailOff = data, start
	}
	if o.tail != nil && off >= o.tailOff {
		n := copy(b[:want], o.tail[off-o.tailOff:])
		o.mu.Unlock()
		if n < len(b) {
			return n, io.EOF
		}
		return n, nil
	}
	o.mu.Unlock()
	data, err := o.get(off, off+int64(want)-1)
	if err != nil {
		return 0, err
	}
	n := copy(b, data)
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

func (o *s3Object) get(first, last int64) ([]byte, error) {
	out, err := o.s.client.GetObject(o.ctx, &s3.GetObjectInput{
		Bucket: &o.s.bucket, Key: aws.String(o.s.key(o.key)),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", first, last)),
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read lake object %q bytes %d-%d from %s: %w", o.key, first, last, o.s.url, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("cannot read lake object %q bytes %d-%d from %s: %w", o.key, first, last, o.s.url, err)
	}
	return data, nil
}

// Delete implements Storage.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("cannot delete lake object %q from %s: %w", key, s.url, err)
	}
	return nil
}

// CreateBucket creates the storage's bucket if it does not exist (for tests and first runs
// against S3-compatible servers).
func (s *S3) CreateBucket(ctx context.Context) error {
	_, err := s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s.bucket})
	if err != nil {
		var owned *types.BucketAlreadyOwnedByYou
		var exists *types.BucketAlreadyExists
		if errors.As(err, &owned) || errors.As(err, &exists) {
			return nil
		}
		return fmt.Errorf("cannot create bucket %q: %w", s.bucket, err)
	}
	return nil
}
