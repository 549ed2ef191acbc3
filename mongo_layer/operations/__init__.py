"""Operations over the stores: retention, erasure, statistics, batches, restore and
maintenance."""
