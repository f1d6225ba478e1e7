//go:build !otel

package tracing

import (
	"context"
	"errors"
	"testing"
)

func TestSetupWithoutTheTag(t *testing.T) {
	if Available {
		t.Fatal("Available in a build without the otel tag")
	}
	tr, err := Setup(context.Background(), Config{SampleRatio: 1}, nil)
	if tr != nil || err != nil {
		t.Fatalf("tracing off: Setup = %v, %v; want nil, nil", tr, err)
	}
	_, err = Setup(context.Background(), Config{Endpoint: "http://127.0.0.1:4318", SampleRatio: 1}, nil)
	if !errors.Is(err, ErrNotBuilt) || err.Error() != "this binary was built without OpenTelemetry: build with -tags otel" {
		t.Fatalf("tracing asked for: err = %v; want ErrNotBuilt", err)
	}
}
