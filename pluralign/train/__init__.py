"""Training with the scorers: recipes, TRL trainers for SFT/DPO/GRPO/RLOO/reward models, the eval hook."""
