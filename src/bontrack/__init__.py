"""bontrack: botulinum toxin + physical therapy pathway for chronic myofascial neck pain."""

__version__ = "0.1.0"
