package main

import (
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// A token request refused while the API server's view of the pod lags the binding is asked
// again; one that cannot succeed is not.
func TestTokenRetryable(t *testing.T) {
	pods := schema.GroupResource{Resource: "pods"}
	sas := schema.GroupResource{Resource: "serviceaccounts"}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"the Node authorizer has not seen the binding", apierrors.NewForbidden(sas, "default", errors.New("no relationship found")), true},
		{"the bound pod not yet in the server's cache", apierrors.NewNotFound(pods, "keycloak-0"), true},
		{"the server timed out", apierrors.NewServerTimeout(sas, "create", 1), true},
		{"too many requests", apierrors.NewTooManyRequests("busy", 1), true},
		{"an invalid request", apierrors.NewBadRequest("expirationSeconds too small"), false},
		{"an internal error", apierrors.NewInternalError(errors.New("boom")), false},
		{"not an API error", errors.New("connection refused"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := tokenRetryable(c.err); got != c.want {
				t.Fatalf("tokenRetryable(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}
