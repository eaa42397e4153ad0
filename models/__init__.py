"""DCT-Net itself and every way of making a compressed variant of it. Imports no other package of ours."""
