"""The reconciler: what a failure between us and Twilio left behind, found and set right on a schedule."""
