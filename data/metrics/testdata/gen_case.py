import random
random.seed(20261123)
docs = [f"d{i}" for i in range(1, 40)] + [str(i) for i in range(1, 25)] + ["D7", "a-1", "a_2"]
qrels, run = [], []
for q in range(1, 41):
    qid = f"q{q}"
    judged = random.sample(docs, random.randint(1, 15))
    kind = q % 10
    for d in judged:
        if kind == 3:
            rel = 0  # no relevant document at all
        else:
            rel = random.choice([0, 0, 1, 1, 2, 3])
        qrels.append((qid, d, rel))
    if kind == 7:
        continue  # judged query missing from the run
    ret = random.sample(docs, random.randint(1, 40))
    for i, d in enumerate(ret):
        score = random.choice([0.5, 1, 1.5, 2, 2.5, 3]) if q % 2 else round(random.random(), 2)
        run.append((qid, d, i + 1, score))
run.append(("q999", "d1", 1, 1.0))  # query without judgments
with open("qrels.txt", "w") as f:
    for qid, d, rel in qrels:
        f.write(f"{qid} 0 {d} {rel}\n")
with open("run.txt", "w") as f:
    for qid, d, r, s in run:
        f.write(f"{qid} Q0 {d} {r} {s} gen\n")
