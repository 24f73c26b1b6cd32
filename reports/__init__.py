"""Report writers; generated reports land in subfolders (git-ignored)."""
