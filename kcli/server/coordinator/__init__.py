"""The group coordinator: classic and KIP-848 consumer groups, their offsets and the __consumer_offsets log."""
