package throttle_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/storetest"
	"github.com/gatehouse-auth/gatehouse/throttle"
)

func TestMemoryConformance(t *testing.T) {
	storetest.RunThrottleTests(t, func(*testing.T) gatehouse.ThrottleStore { return throttle.NewMemory() })
}
