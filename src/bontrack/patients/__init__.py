"""Clinics, clinicians, patients and their pain episodes."""
