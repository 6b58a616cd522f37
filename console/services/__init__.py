"""Qt orchestration: the thread-to-Qt bridge, chair services and plot buffers (no widgets)."""
