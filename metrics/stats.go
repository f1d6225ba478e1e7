package metrics

import (
	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/authn"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/prometheus/client_golang/prometheus"
)

// statsCollector turns a read-only stats method into metrics at each
// scrape: read is called once per scrape and sends what it read.
type statsCollector struct {
	descs []*prometheus.Desc
	read  func(ch chan<- prometheus.Metric)
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) { c.read(ch) }

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// HashSource is what WatchHashing reads: accounts.Service.
type HashSource interface{ HashStats() accounts.HashStats }

// WatchHashing adds the password-hash slots' metrics, read from src at
// each scrape.
func (m *Metrics) WatchHashing(src HashSource) {
	slots := desc("gatehouse_password_hash_slots", "Password hashes computed at once at most (the CPUs).")
	inUse := desc("gatehouse_password_hash_slots_in_use", "Password hashes being computed now.")
	queue := desc("gatehouse_password_hash_queue_depth", "Logins, sign-ups and password changes waiting for a hash slot now.")
	wait := desc("gatehouse_password_hash_wait_seconds", "Time spent waiting for a hash slot: _count is the hashes run, _sum the seconds their callers waited in all.")
	refused := desc("gatehouse_password_hash_refused_total", "Password checks refused at once (503) because too many were waiting.")
	m.reg.MustRegister(&statsCollector{descs: []*prometheus.Desc{slots, inUse, queue, wait, refused}, read: func(ch chan<- prometheus.Metric) {
		s := src.HashStats()
		ch <- prometheus.MustNewConstMetric(slots, prometheus.GaugeValue, float64(s.Slots))
		ch <- prometheus.MustNewConstMetric(inUse, prometheus.GaugeValue, float64(s.InUse))
		ch <- prometheus.MustNewConstMetric(queue, prometheus.GaugeValue, float64(s.Waiting))
		ch <- prometheus.MustNewConstSummary(wait, s.Hashes, s.Waited.Seconds(), nil)
		ch <- prometheus.MustNewConstMetric(refused, prometheus.CounterValue, float64(s.Refused))
	}})
}

// CacheSource is what WatchAuthCache reads: authn.Authenticator.
type CacheSource interface{ CacheStats() authn.CacheStats }

// WatchAuthCache adds the authentication cache's metrics, read from src
// at each scrape.
func (m *Metrics) WatchAuthCache(src CacheSource) {
	hits := desc("gatehouse_auth_cache_hits_total", "Credential and user lookups answered from this replica's cache.")
	misses := desc("gatehouse_auth_cache_misses_total", "Credential and user lookups the cache could not answer (read from the database).")
	entries := desc("gatehouse_auth_cache_entries", "Entries in the authentication cache now.")
	m.reg.MustRegister(&statsCollector{descs: []*prometheus.Desc{hits, misses, entries}, read: func(ch chan<- prometheus.Metric) {
		s := src.CacheStats()
		ch <- prometheus.MustNewConstMetric(hits, prometheus.CounterValue, float64(s.Hits))
		ch <- prometheus.MustNewConstMetric(misses, prometheus.CounterValue, float64(s.Misses))
		ch <- prometheus.MustNewConstMetric(entries, prometheus.GaugeValue, float64(s.Entries))
	}})
}

// CleanupSource is what WatchCleanup reads: oauth.Cleaner.
type CleanupSource interface{ Stats() oauth.CleanupStats }

// WatchCleanup adds the background cleanup's metrics, read from src at
// each scrape.
func (m *Metrics) WatchCleanup(src CleanupSource) {
	passes := desc("gatehouse_cleanup_passes_total", "Passes of the background cleanup finished.")
	failures := desc("gatehouse_cleanup_failures_total", "Cleanup steps that failed (each logged as a warning; retried at the next pass).")
	removed := desc("gatehouse_cleanup_rows_removed_total", "Rows the background cleanup removed, by step.", "step")
	backlog := desc("gatehouse_cleanup_last_pass_rows", "Rows the last cleanup pass removed: the expired rows that built up over one interval.")
	took := desc("gatehouse_cleanup_last_pass_duration_seconds", "How long the last cleanup pass took.")
	when := desc("gatehouse_cleanup_last_pass_timestamp_seconds", "When the last cleanup pass ended (Unix time; 0 before the first).")
	m.reg.MustRegister(&statsCollector{descs: []*prometheus.Desc{passes, failures, removed, backlog, took, when}, read: func(ch chan<- prometheus.Metric) {
		s := src.Stats()
		ch <- prometheus.MustNewConstMetric(passes, prometheus.CounterValue, float64(s.Passes))
		ch <- prometheus.MustNewConstMetric(failures, prometheus.CounterValue, float64(s.Failures))
		for step, n := range s.Removed {
			ch <- prometheus.MustNewConstMetric(removed, prometheus.CounterValue, float64(n), step)
		}
		ch <- prometheus.MustNewConstMetric(backlog, prometheus.GaugeValue, float64(s.LastRemoved))
		ch <- prometheus.MustNewConstMetric(took, prometheus.GaugeValue, s.LastDuration.Seconds())
		var ts float64
		if !s.LastPass.IsZero() {
			ts = float64(s.LastPass.UnixMilli()) / 1000
		}
		ch <- prometheus.MustNewConstMetric(when, prometheus.GaugeValue, ts)
	}})
}
