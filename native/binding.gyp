{
  "targets": [
    {
      "target_name": "sde_gemm",
      "sources": ["sde_gemm.c"],
      "cflags": ["-O3", "-std=c11", "-D_GNU_SOURCE"],
      "libraries": ["-lpthread", "-lm"]
    }
  ]
}
