/* never-listens.c - a broken "lesson program" for bench/grade-broken: it
 * starts, prints nothing and waits for ever (until a signal ends it). */
#include <unistd.h>

int main(void)
{
    for (;;)
        pause();
}
