"""Administration: health and the practice operators' use cases."""
