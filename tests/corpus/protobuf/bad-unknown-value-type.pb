R
nc