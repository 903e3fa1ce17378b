package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"simplesender/internal/jobs"
	"simplesender/internal/store"
)

// metrics are the service's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	sent     *prometheus.CounterVec
	failed   *prometheus.CounterVec
	refused  *prometheus.CounterVec
}

func newMetrics(db *store.DB) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "simplesender_http_requests_total",
			Help: "HTTP requests by method, area and status code."}, []string{"method", "area", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "simplesender_http_request_duration_seconds",
			Help: "HTTP request duration by area.", Buckets: prometheus.DefBuckets}, []string{"area"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "simplesender_emails_sent_total",
			Help: "E-mails handed to the mail server or outbox, by kind."}, []string{"kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "simplesender_emails_failed_total",
			Help: "E-mails that failed to send, by kind."}, []string{"kind"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "simplesender_webhooks_refused_total",
			Help: "Provider webhooks refused, by provider and reason (signature, stale, unreadable)."}, []string{"provider", "reason"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.sent, m.failed, m.refused, &queueCollector{db: db},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// EmailSent implements app.Metrics.
func (m *metrics) EmailSent(kind string) { m.sent.WithLabelValues(kind).Inc() }

// EmailFailed implements app.Metrics.
func (m *metrics) EmailFailed(kind string) { m.failed.WithLabelValues(kind).Inc() }

// observe counts a request. The label is the area of the site, not the
// path, so that ids in paths cannot blow up the number of series.
func (m *metrics) observe(r *http.Request, code int, d time.Duration) {
	area := "web"
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/api/"):
		area = "api"
	case strings.HasPrefix(p, "/static/"):
		area = "static"
	case p == "/healthz" || p == "/metrics":
		area = "ops"
	}
	if code == 0 {
		code = http.StatusOK
	}
	m.requests.WithLabelValues(r.Method, area, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(area).Observe(d.Seconds())
}

// queueCollector reports the job queue's depth at scrape time.
type queueCollector struct{ db *store.DB }

var queueDepthDesc = prometheus.NewDesc("simplesender_job_queue_depth",
	"Jobs waiting (available, scheduled or retryable) per queue.", []string{"queue"}, nil)

var waitingDesc = prometheus.NewDesc("simplesender_deliveries_waiting",
	"Deliveries of mailings waiting to be sent (pending or deferred).", nil, nil)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepthDesc
	ch <- waitingDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	depth, err := jobs.Depth(ctx, c.db)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDepthDesc, err)
		return
	}
	for _, q := range []string{jobs.QueueAccountEmail, jobs.QueueMaintenance} {
		ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(depth[q]), q)
	}
	if n, err := c.db.WaitingDeliveries(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(waitingDesc, prometheus.GaugeValue, float64(n))
	} else {
		ch <- prometheus.NewInvalidMetric(waitingDesc, err)
	}
}
