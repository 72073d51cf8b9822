package hive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// httpDoer is the part of *http.Client the webhook uses; tests and callers
// with their own transport (mTLS, proxies) pass theirs.
type httpDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// WithHTTPClient makes the webhook step send through c (default: an
// http.Client without timeout; each request is bounded by webhook.timeout).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// Webhook is the commit step that POSTs the partition's Notification as
// JSON. The Idempotency-Key header and the body's idempotency_key carry
// Partition.Key, because the same commit is delivered again whenever a
// reply is lost or landfall restarts mid-commit.
//
// A 2xx answer is done. 4xx other than 408 and 429 is permanent: the
// receiver rejects the request and will reject it again. Everything else —
// 408, 429, 5xx, network errors, timeouts — is retried with backoff here and
// then again by the commit queue.
type Webhook struct {
	cfg      WebhookConfig
	http     httpDoer
	log      *slog.Logger
	requests *prometheus.CounterVec
}

// NewWebhook returns the webhook step.
func NewWebhook(cfg WebhookConfig, opts ...Option) (*Webhook, error) {
	if errs := cfg.validate("hive.webhook", "hive.commit_steps"); len(errs) > 0 {
		return nil, Permanent(fmt.Errorf("hive: new webhook step: %w", errors.Join(errs...)))
	}
	o := buildOptions(opts)
	w := &Webhook{
		cfg:  cfg.withDefaults(),
		http: o.httpClient,
		log:  o.log,
		requests: register(o.reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "landfall_hive_webhook_requests_total",
			Help: "Webhook deliveries by HTTP status class (2xx, 4xx, 5xx) or error.",
		}, []string{"result"})),
	}
	if w.http == nil {
		tc, err := cfg.TLS.Client("hive.webhook.tls", time.Now(), o.log)
		if err != nil {
			return nil, Permanent(fmt.Errorf("hive: new webhook step: %w", err))
		}
		c := &http.Client{}
		if tc != nil {
			t := http.DefaultTransport.(*http.Transport).Clone()
			t.TLSClientConfig = tc
			c.Transport = t
		}
		w.http = c
	}
	return w, nil
}

// Name implements Step.
func (w *Webhook) Name() string { return StepWebhook }

// Commit implements Step.
func (w *Webhook) Commit(ctx context.Context, p Partition) error {
	body, err := encodeNotification(p)
	if err != nil {
		return err
	}
	r := w.cfg.Retry
	var last error
	for attempt := 0; attempt < r.Attempts; attempt++ {
		if attempt > 0 {
			wait := backoff(r, attempt)
			var ra *retryAfter
			if errors.As(last, &ra) && ra.d > wait {
				wait = min(ra.d, r.MaxBackoff)
			}
			if err := sleepCtx(ctx, wait); err != nil {
				return fmt.Errorf("hive: webhook %s for %s: %w (last error: %v)", w.cfg.URL, p.Spec(), err, last)
			}
		}
		err := w.post(ctx, body, p.Key)
		if err == nil {
			w.log.Info("hive webhook delivered", "hive_partition", p.Spec(), "commit_key", p.Key)
			return nil
		}
		if IsPermanent(err) || ctx.Err() != nil {
			return fmt.Errorf("hive: webhook for %s: %w", p.Spec(), err)
		}
		last = err
		if attempt+1 < r.Attempts {
			w.log.Warn("hive webhook failed, retrying", "hive_partition", p.Spec(), "attempt", attempt+1, "err", err)
		}
	}
	return fmt.Errorf("hive: webhook for %s: failed %d times: %w", p.Spec(), r.Attempts, last)
}

type retryAfter struct {
	d   time.Duration
	err error
}

func (e *retryAfter) Error() string { return e.err.Error() }
func (e *retryAfter) Unwrap() error { return e.err }

func (w *Webhook) post(ctx context.Context, body []byte, key string) error {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("build request to %s: %w", w.cfg.URL, err))
	}
	for k, v := range w.cfg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := w.http.Do(req)
	if err != nil {
		w.requests.WithLabelValues("error").Inc()
		return fmt.Errorf("POST %s: %w", w.cfg.URL, err)
	}
	// Read a little of the body for the error message, and drain the rest
	// so that the connection can be reused.
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if err := resp.Body.Close(); err != nil {
		w.log.Debug("hive webhook: close response body", "err", err)
	}
	code := resp.StatusCode
	w.requests.WithLabelValues(strconv.Itoa(code/100) + "xx").Inc()
	switch {
	case code >= 200 && code < 300:
		return nil
	case code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		return Permanent(fmt.Errorf("POST %s: %s: %s; the receiver rejects the notification, fix it or its URL/headers (hive.webhook)", w.cfg.URL, resp.Status, bytes.TrimSpace(msg)))
	}
	err = fmt.Errorf("POST %s: %s: %s", w.cfg.URL, resp.Status, bytes.TrimSpace(msg))
	if s, e := strconv.Atoi(resp.Header.Get("Retry-After")); e == nil && s > 0 {
		return &retryAfter{d: time.Duration(s) * time.Second, err: err}
	}
	return err
}
