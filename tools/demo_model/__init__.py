"""The pieces tools/train_demo_model.py is made of: corpus, byte-level BPE tokenizer, Qwen3 in plain PyTorch,
safetensors writer. Only Debian's python3-torch (1.13) and python3-numpy are needed."""
